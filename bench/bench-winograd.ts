// Benchmark (not a test): Winograd F(2x2,3x3) and F(4x4,3x3) written in plain ONNX ops against onnxruntime's own Conv,
// per VGG19 layer shape (and whole blocks with --chain; the input-gradient convs with --backward).
// Usage: npx tsx bench/bench-winograd.ts [--size 256] [--rounds 7] [--min-ms 400] [--threads 2]
//          [--variants grouped,rows,f4,tc] [--shapes 64x64x256,128x256x64] [--chain] [--backward] [--profile]
//          [--verbose] [--out bench/results]
// Each shape is built once per kind with the same random weights (plain Conv; each Winograd variant), checked
// (max |diff| / max |conv|), then timed interleaved (batches of ≥ --min-ms, the order reversed every round, as the
// box is shared and noisy): medians of wall and of process CPU time per run. --profile prints onnxruntime's per-node
// times instead. Writes <out>/winograd.json (or winograd-backward.json).
//
// Layouts (U = G·g·Gᵀ precomputed; T = tiles):
// "grouped" F(2x2,3x3): grouped Conv (group=C, 4x4 stride 2 pad 1, the 16 Bᵀ·d·B basis kernels) → [C,16,T];
//   Transpose → [16,C,T] (onnxruntime fuses it into the MatMul); MatMul U[16,K,C] → M[16,K,T]; the output transform
//   as one MatMul A[4,16] × M[16,K·T] → [4,K,T], which is already DepthToSpace's DCR order; DepthToSpace; Add bias.
// "f4": the same with F(4x4,3x3): 36 tile positions, 6x6 stride 4 transform, DepthToSpace blocksize 4.
// "rows" F(2x2,3x3) without the input Transpose: pad each channel to H+2 rows, view the input as one
//   [1,1,C·(H+2),W] image, and one 1→16 channel Conv emits [16, C, H/2+1, W/2] directly (the extra tile row per
//   channel straddles two channels and is junk: it rides through the GEMM and is sliced off after).
// "tc": tiles-by-channels GEMM orientation ([16,T,C] × U[16,C,K]) with a 5-D output Transpose.

import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, type Value } from '../src/engine/model/graph/builder.js';
import { WINOGRAD_F4 } from '../src/engine/model/graph/ops/conv.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '7' },
    threads: { type: 'string', default: '2' },
    variants: { type: 'string', default: 'grouped,rows,f4' },
    shapes: { type: 'string' },
    chain: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    backward: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'min-ms': { type: 'string', default: '150' },
    out: { type: 'string', default: 'bench/results' },
  },
});

type Variant = 'grouped' | 'rows' | 'tc' | 'f4';
const VARIANTS = values.variants!.split(',') as Variant[];
for (const v of VARIANTS) if (!['grouped', 'rows', 'tc', 'f4'].includes(v)) throw new RangeError(`--variants: unknown "${v}" (grouped, rows, tc, f4).`);

/** VGG19's 3x3 conv shapes up to block5_conv1, with how many layers share each (C, K, H) at 256 px. */
interface Shape {
  c: number;
  k: number;
  h: number;
  count: number;
  layers: string;
}
const SIZE = Number(values.size);
const ALL_SHAPES: Shape[] = [
  { c: 3, k: 64, h: SIZE, count: 1, layers: 'block1_conv1' },
  { c: 64, k: 64, h: SIZE, count: 1, layers: 'block1_conv2' },
  { c: 64, k: 128, h: SIZE / 2, count: 1, layers: 'block2_conv1' },
  { c: 128, k: 128, h: SIZE / 2, count: 1, layers: 'block2_conv2' },
  { c: 128, k: 256, h: SIZE / 4, count: 1, layers: 'block3_conv1' },
  { c: 256, k: 256, h: SIZE / 4, count: 3, layers: 'block3_conv2..4' },
  { c: 256, k: 512, h: SIZE / 8, count: 1, layers: 'block4_conv1' },
  { c: 512, k: 512, h: SIZE / 8, count: 3, layers: 'block4_conv2..4' },
  { c: 512, k: 512, h: SIZE / 16, count: 1, layers: 'block5_conv1' },
];
const shapeKey = (s: Shape): string => `${s.c}x${s.k}x${s.h}`;
// --backward: the input-gradient convs instead (dL/dx = conv(dL/dy, W′): K channels in, C out), same emitter.
const DIRECTED = values.backward ? ALL_SHAPES.map((s) => ({ ...s, c: s.k, k: s.c, layers: `${s.layers} dL/dx` })) : ALL_SHAPES;
const SHAPES = values.shapes ? DIRECTED.filter((s) => values.shapes!.split(',').includes(shapeKey(s))) : DIRECTED;

// ---- Winograd F(m×m, 3×3) matrices (Lavin & Gray): m = 2 (4×4 tiles) and m = 4 (6×6 tiles) ----
interface Spec {
  m: number; // output tile side
  n: number; // input tile side, m + 2
  BT: number[][]; // n × n
  G: number[][]; // n × 3
  AT: number[][]; // m × n
}
const F2: Spec = {
  m: 2,
  n: 4,
  BT: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  G: [
    [1, 0, 0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};
// The product's own matrices (src/engine/model/graph/ops/conv.ts), so the benchmark measures what ships.
const mutable = (m: readonly (readonly number[])[]): number[][] => m.map((r) => [...r]);
const F4: Spec = { m: 4, n: 6, BT: mutable(WINOGRAD_F4.BT), G: mutable(WINOGRAD_F4.G), AT: mutable(WINOGRAD_F4.AT) };

/** n² input-transform kernels, [n², 1, n, n]: kernel ab at (i, j) is BT[a][i]·BT[b][j], so conv(d) = (BᵀdB)[a][b]. */
function inputTransformKernels(f: Spec = F2): Float32Array {
  const { n, BT } = f;
  const out = new Float32Array(n ** 4);
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[((a * n + b) * n + i) * n + j] = BT[a]![i]! * BT[b]![j]!;
  return out;
}

/** U = G·g·Gᵀ per (k, c), laid out [n², K, C] (the MatMul's left operand, batched over the n² tile positions). */
function kernelTransform(kernel: Float32Array, k: number, c: number, f: Spec = F2): Float32Array {
  const { n, G } = f;
  const u = new Float32Array(n * n * k * c);
  for (let o = 0; o < k; o++) {
    for (let i = 0; i < c; i++) {
      const g = (o * c + i) * 9;
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          let s = 0; // float64 accumulation: U is exact to float32 rounding
          for (let r = 0; r < 3; r++) for (let t = 0; t < 3; t++) s += G[a]![r]! * kernel[g + r * 3 + t]! * G[b]![t]!;
          u[((a * n + b) * k + o) * c + i] = s;
        }
      }
    }
  }
  return u;
}

/** [m², n²]: row pq maps the n² values of M to output pixel (p, q) of the m×m tile, AᵀMA. */
function outputTransformMatrix(f: Spec = F2): Float32Array {
  const { m, n, AT } = f;
  const out = new Float32Array(m * m * n * n);
  for (let p = 0; p < m; p++)
    for (let q = 0; q < m; q++)
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) out[(p * m + q) * n * n + a * n + b] = AT[p]![a]! * AT[q]![b]!;
  return out;
}

interface Layer {
  kernel: Float32Array; // OIHW
  bias: Float32Array;
  c: number;
  k: number;
}

function convLayer(g: GraphBuilder, x: Value, w: Layer, name: string): Value {
  const kernel = g.floatInitializer(`${name}_W`, w.kernel, [w.k, w.c, 3, 3]);
  const bias = g.floatInitializer(`${name}_b`, w.bias, [w.k]);
  const [, , h, wd] = x.shape as [number, number, number, number];
  return g.node('Conv', [x, kernel, bias], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, { shape: [1, w.k, h, wd] });
}

/** The "grouped" layout for any F(m×m, 3×3): grouped Conv → Transpose → batched MatMul → MatMul → DepthToSpace → Add. */
function winogradGrouped(g: GraphBuilder, x: Value, w: Layer, name: string, f: Spec): Value {
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const { k } = w;
  const { m, n } = f;
  const nn = n * n;
  const th = h / m;
  const tw = wd / m;
  const t = th * tw;
  if (!Number.isInteger(th) || !Number.isInteger(tw)) throw new RangeError(`F(${m}x${m},3x3) needs sides divisible by ${m}, got ${h}x${wd}.`);
  const shape = (hint: string, dims: number[]): Value => g.int64Initializer(`${name}_${hint}`, dims);
  const basis = inputTransformKernels(f);
  const repeated = new Float32Array(nn * nn * c);
  for (let i = 0; i < c; i++) repeated.set(basis, i * nn * nn);
  const bk = g.floatInitializer(`${name}_BT`, repeated, [nn * c, 1, n, n]);
  const u = g.floatInitializer(`${name}_U`, kernelTransform(w.kernel, k, c, f), [nn, k, c]);
  const a = g.floatInitializer(`${name}_A`, outputTransformMatrix(f), [m * m, nn]);
  const bias = g.floatInitializer(`${name}_bias`, w.bias, [1, k, 1, 1]);
  // Tile (i, j) reads padded rows m·i .. m·i + n − 1, i.e. input rows m·i − 1 .. m·i + m: pad 1, stride m.
  const v = g.node('Conv', [x, bk], { kernel_shape: [n, n], pads: [1, 1, 1, 1], strides: [m, m], group: c }, { shape: [1, nn * c, th, tw] });
  const v3 = g.node('Reshape', [v, shape('v3', [c, nn, t])], {}, { shape: [c, nn, t] });
  const vt = g.node('Transpose', [v3], { perm: [1, 0, 2] }, { shape: [nn, c, t] });
  const mm = g.node('MatMul', [u, vt], {}, { shape: [nn, k, t] });
  const m2 = g.node('Reshape', [mm, shape('m2', [nn, k * t])], {}, { shape: [nn, k * t] });
  const y = g.node('MatMul', [a, m2], {}, { shape: [m * m, k * t] });
  // [m², K, T] is DepthToSpace's DCR channel order: channel (p·m + q)·K + k.
  const y4 = g.node('Reshape', [y, shape('y4', [1, m * m * k, th, tw])], {}, { shape: [1, m * m * k, th, tw] });
  const out = g.node('DepthToSpace', [y4], { blocksize: m, mode: 'DCR' }, { shape: [1, k, h, wd] });
  return g.node('Add', [out, bias], {}, { shape: [1, k, h, wd] });
}

function winogradLayer(g: GraphBuilder, x: Value, w: Layer, name: string, variant: Variant): Value {
  if (variant === 'f4') return winogradGrouped(g, x, w, name, F4);
  if (variant === 'grouped') return winogradGrouped(g, x, w, name, F2);
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const { k } = w;
  const th = h / 2;
  const tw = wd / 2;
  const basis = inputTransformKernels();
  const shape = (hint: string, dims: number[]): Value => g.int64Initializer(`${name}_${hint}`, dims);
  const a = g.floatInitializer(`${name}_A`, outputTransformMatrix(), [4, 16]);
  const bias = g.floatInitializer(`${name}_bias`, w.bias, [1, k, 1, 1]);

  if (variant === 'tc') {
    // Tiles as rows, channels as columns: the constant U is the MatMul's right operand (prepackable), and one
    // Transpose on each side replaces Transpose + DepthToSpace. (Measured slower than "grouped": the 5-D Transpose.)
    const repeated = new Float32Array(16 * 16 * c);
    for (let i = 0; i < c; i++) repeated.set(basis, i * 256);
    const bk = g.floatInitializer(`${name}_BT`, repeated, [16 * c, 1, 4, 4]);
    const t = th * tw;
    const v = g.node('Conv', [x, bk], { kernel_shape: [4, 4], pads: [1, 1, 1, 1], strides: [2, 2], group: c }, { shape: [1, 16 * c, th, tw] });
    const v3 = g.node('Reshape', [v, shape('v3', [c, 16, t])], {}, { shape: [c, 16, t] });
    const vt = g.node('Transpose', [v3], { perm: [1, 2, 0] }, { shape: [16, t, c] });
    const uKc = kernelTransform(w.kernel, k, c);
    const uCk = new Float32Array(uKc.length);
    for (let ab = 0; ab < 16; ab++) for (let o = 0; o < k; o++) for (let i = 0; i < c; i++) uCk[(ab * c + i) * k + o] = uKc[(ab * k + o) * c + i]!;
    const u2 = g.floatInitializer(`${name}_Uck`, uCk, [16, c, k]);
    const m = g.node('MatMul', [vt, u2], {}, { shape: [16, t, k] });
    const m2 = g.node('Reshape', [m, shape('m2', [16, t * k])], {}, { shape: [16, t * k] });
    const y = g.node('MatMul', [a, m2], {}, { shape: [4, t * k] });
    const y5 = g.node('Reshape', [y, shape('y5', [2, 2, th, tw, k])], {}, { shape: [2, 2, th, tw, k] });
    const yt = g.node('Transpose', [y5], { perm: [4, 2, 0, 3, 1] }, { shape: [k, th, 2, tw, 2] });
    const out = g.node('Reshape', [yt, shape('out', [1, k, h, wd])], {}, { shape: [1, k, h, wd] });
    return g.node('Add', [out, bias], {}, { shape: [1, k, h, wd] });
  }

  // "rows": each channel padded to H+2 rows, then all channels stacked as one tall single-channel image.
  const u = g.floatInitializer(`${name}_U`, kernelTransform(w.kernel, k, c), [16, k, c]);
  const x3 = g.node('Reshape', [x, shape('x3', [c, h, wd])], {}, { shape: [c, h, wd] });
  const xp = g.node('Pad', [x3, shape('pads', [0, 1, 0, 0, 1, 0])], {}, { shape: [c, h + 2, wd] });
  const tall = g.node('Reshape', [xp, shape('tall', [1, 1, c * (h + 2), wd])], {}, { shape: [1, 1, c * (h + 2), wd] });
  const bk = g.floatInitializer(`${name}_BT`, basis, [16, 1, 4, 4]);
  // Bottom pad 2 gives every channel th + 1 tile rows (the last straddles into the next channel: junk).
  const v = g.node('Conv', [tall, bk], { kernel_shape: [4, 4], pads: [0, 1, 2, 1], strides: [2, 2] }, { shape: [1, 16, c * (th + 1), tw] });
  const v3 = g.node('Reshape', [v, shape('v3', [16, c, (th + 1) * tw])], {}, { shape: [16, c, (th + 1) * tw] });
  const m = g.node('MatMul', [u, v3], {}, { shape: [16, k, (th + 1) * tw] });
  const m2 = g.node('Reshape', [m, shape('m2', [16, k * (th + 1) * tw])], {}, { shape: [16, k * (th + 1) * tw] });
  const y = g.node('MatMul', [a, m2], {}, { shape: [4, k * (th + 1) * tw] });
  const y5 = g.node('Reshape', [y, shape('y5', [4, k, th + 1, tw])], {}, { shape: [4, k, th + 1, tw] });
  const sliced = g.node('Slice', [y5, shape('starts', [0]), shape('ends', [th]), shape('axes', [2])], {}, { shape: [4, k, th, tw] });
  // [4, K, th, tw] is DepthToSpace's DCR channel order.
  const y4 = g.node('Reshape', [sliced, shape('y4', [1, 4 * k, th, tw])], {}, { shape: [1, 4 * k, th, tw] });
  const out = g.node('DepthToSpace', [y4], { blocksize: 2, mode: 'DCR' }, { shape: [1, k, h, wd] });
  return g.node('Add', [out, bias], {}, { shape: [1, k, h, wd] });
}

// ---- random data (seeded, so both graphs of a shape see the same numbers) ----
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randomLayer(c: number, k: number, seed: number): Layer {
  const r = rng(seed);
  const scale = Math.sqrt(6 / (9 * c)); // He-uniform
  const kernel = new Float32Array(k * c * 9).map(() => (r() * 2 - 1) * scale);
  const bias = new Float32Array(k).map(() => (r() * 2 - 1) * 0.1);
  return { kernel, bias, c, k };
}

type Kind = 'conv' | Variant;
function buildGraph(layers: Layer[], h: number, kind: Kind): Uint8Array {
  const g = new GraphBuilder(`bench_${kind}`);
  let x = g.input('x', [1, layers[0]!.c, h, h]);
  layers.forEach((w, i) => {
    x = kind === 'conv' ? convLayer(g, x, w, `l${i}`) : winogradLayer(g, x, w, `l${i}`, kind);
    if (i < layers.length - 1) x = g.node('Relu', [x], {}, { shape: x.shape });
  });
  g.output(x, 'y');
  return g.toBytes();
}

const PROFILE_DIR = path.join(os.tmpdir(), `bench-winograd-${process.pid}`);
async function session(bytes: Uint8Array, profile = false): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    enableProfiling: profile,
    profileFilePrefix: path.join(PROFILE_DIR, 'profile'),
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(values.threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round2 = (v: number): number => Math.round(v * 100) / 100;

interface Timing {
  wallMs: number[];
  cpuMs: number[];
}

/** One timed batch: `reps` runs, per-run wall and process CPU (all threads) averaged over the batch. */
async function timeBatch(s: ort.InferenceSession, feed: ort.Tensor, reps: number, into: Timing): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await s.run({ x: feed });
  const wall = (performance.now() - t0) / reps;
  const cpu = process.cpuUsage(cpu0);
  into.wallMs.push(wall);
  into.cpuMs.push((cpu.user + cpu.system) / 1000 / reps);
}

function maxRelError(ref: Float32Array, got: Float32Array): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - got[i]!));
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return maxDiff / maxRef;
}

interface Row {
  name: string;
  layers: string;
  flop: number;
  count: number;
  convMs: number;
  convCpuMs: number;
  wino: Record<string, { ms: number; cpuMs: number; speedup: number; cpuSpeedup: number; relError: number }>;
}

async function compare(name: string, layersDesc: string, layers: Layer[], h: number, count: number): Promise<Row> {
  const flop = layers.reduce((sum, w) => sum + 2 * 9 * w.c * w.k * h * h, 0);
  const kinds: Kind[] = ['conv', ...VARIANTS];
  const sessions = new Map<Kind, ort.InferenceSession>();
  for (const kind of kinds) sessions.set(kind, await session(buildGraph(layers, h, kind)));
  const r = rng(12345);
  const input = new Float32Array(layers[0]!.c * h * h).map(() => r() * 2 - 1);
  const feed = new ort.Tensor('float32', input, [1, layers[0]!.c, h, h]);

  const outputs = new Map<Kind, Float32Array>();
  for (const kind of kinds) outputs.set(kind, (await sessions.get(kind)!.run({ x: feed })).y!.data as Float32Array);
  // Calibrate the batch size on Conv so a batch lasts ≥ --min-ms (noise on a shared box averages out within it).
  const t0 = performance.now();
  await sessions.get('conv')!.run({ x: feed });
  const once = performance.now() - t0;
  const reps = Math.max(1, Math.ceil(Number(values['min-ms']) / once));

  const timings = new Map<Kind, Timing>(kinds.map((kind) => [kind, { wallMs: [], cpuMs: [] }]));
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 ? [...kinds].reverse() : kinds;
    for (const kind of order) await timeBatch(sessions.get(kind)!, feed, reps, timings.get(kind)!);
  }
  if (values.verbose) for (const [kind, t] of timings) console.log(`  ${kind} wall ${t.wallMs.map(round2).join(' ')} | cpu ${t.cpuMs.map(round2).join(' ')}`);
  const convMs = median(timings.get('conv')!.wallMs);
  const convCpuMs = median(timings.get('conv')!.cpuMs);
  const row: Row = { name, layers: layersDesc, flop, count, convMs: round2(convMs), convCpuMs: round2(convCpuMs), wino: {} };
  for (const v of VARIANTS) {
    const ms = median(timings.get(v)!.wallMs);
    const cpuMs = median(timings.get(v)!.cpuMs);
    row.wino[v] = {
      ms: round2(ms),
      cpuMs: round2(cpuMs),
      speedup: round2(convMs / ms),
      cpuSpeedup: round2(convCpuMs / cpuMs),
      relError: Number(maxRelError(outputs.get('conv')!, outputs.get(v)!).toExponential(2)),
    };
  }
  for (const s of sessions.values()) await s.release();
  const gflops = round2(flop / convMs / 1e6);
  console.log(
    `${name.padEnd(18)} reps ${reps}  conv ${row.convMs} ms (${gflops} GFLOP/s, cpu ${row.convCpuMs})  ` +
      VARIANTS.map((v) => `${v} ${row.wino[v]!.ms} ms (x${row.wino[v]!.speedup}, cpu x${row.wino[v]!.cpuSpeedup}, err ${row.wino[v]!.relError.toExponential(1)})`).join('  '),
  );
  return row;
}

/** Where the time goes: onnxruntime's own per-node profile, summed by node (median-free: 5 runs after 2 warm-ups). */
async function profile(layer: Layer, h: number, kind: Kind): Promise<string> {
  mkdirSync(PROFILE_DIR, { recursive: true });
  const s = await session(buildGraph([layer], h, kind), true);
  const feed = new ort.Tensor('float32', new Float32Array(layer.c * h * h).fill(0.5), [1, layer.c, h, h]);
  for (let i = 0; i < 7; i++) await s.run({ x: feed });
  s.endProfiling(); // writes PROFILE_DIR/profile_<timestamp>.json (the Node binding does not return the name)
  await s.release();
  const file = path.join(PROFILE_DIR, readdirSync(PROFILE_DIR)[0]!);
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  const byNode = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const key = `${e.args?.op_name ?? '?'}:${e.name.replace(/_kernel_time$/, '')}`;
    byNode.set(key, (byNode.get(key) ?? 0) + e.dur / 7000);
  }
  return [...byNode].map(([n, ms]) => `${n} ${round2(ms)}`).join(', ');
}

if (values.profile) {
  for (const [i, s] of SHAPES.entries()) {
    const layer = randomLayer(s.c, s.k, 100 + i);
    for (const kind of ['conv', ...VARIANTS] as Kind[]) console.log(`${shapeKey(s)} ${kind}: ${await profile(layer, s.h, kind)}`);
  }
  process.exit(0);
}

const rows: Row[] = [];
for (const [i, s] of SHAPES.entries()) {
  rows.push(await compare(`${s.c}->${s.k} @${s.h}`, s.layers, [randomLayer(s.c, s.k, 100 + i)], s.h, s.count));
}

// The forward to block5_conv1 as the sum of its layers' medians (each shape × how many layers have it), so each
// layer counts by its time (≈ its FLOPs). "fromBlock3": Winograd only where H ≤ size/4 (block3_conv1 on), Conv before.
const weighted: Record<string, number> = {};
const total = (pick: (r: Row) => number): number => rows.reduce((t, r) => t + pick(r) * r.count, 0);
const convTotal = total((r) => r.convMs);
const convCpuTotal = total((r) => r.convCpuMs);
const late = (r: Row): boolean => r.name.endsWith(`@${SIZE / 4}`) || r.name.endsWith(`@${SIZE / 8}`) || r.name.endsWith(`@${SIZE / 16}`);
for (const v of VARIANTS) {
  weighted[v] = round2(convTotal / total((r) => r.wino[v]!.ms));
  weighted[`${v}_cpu`] = round2(convCpuTotal / total((r) => r.wino[v]!.cpuMs));
  weighted[`${v}_fromBlock3`] = round2(convTotal / total((r) => (late(r) ? r.wino[v]!.ms : r.convMs)));
  weighted[`${v}_fromBlock3_cpu`] = round2(convCpuTotal / total((r) => (late(r) ? r.wino[v]!.cpuMs : r.convCpuMs)));
  weighted[`${v}_bestOfEachLayer`] = round2(convTotal / total((r) => Math.min(r.convMs, r.wino[v]!.ms)));
}

const chainRows: Row[] = [];
if (values.chain) {
  // Consecutive same-shape layers with ReLU between, as in VGG's blocks: does anything cross layer boundaries?
  const chains: { label: string; h: number; channels: number[] }[] = [
    { label: 'block2_conv1..2', h: SIZE / 2, channels: [64, 128, 128] },
    { label: 'block3_conv1..4', h: SIZE / 4, channels: [128, 256, 256, 256, 256] },
    { label: 'block4_conv1..4', h: SIZE / 8, channels: [256, 512, 512, 512, 512] },
  ];
  for (const { label, h, channels } of chains) {
    const layers = channels.slice(1).map((k, i) => randomLayer(channels[i]!, k, 900 + i));
    chainRows.push(await compare(label, label, layers, h, 1));
  }
}

const report = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores)`,
  config: { size: SIZE, direction: values.backward ? 'input gradient' : 'forward', threads: Number(values.threads), rounds: Number(values.rounds), variants: VARIANTS, onnxruntime: ort.env.versions.common },
  toBlock5Conv1: { convMs: round2(convTotal), convCpuMs: round2(convCpuTotal), speedup: weighted },
  rows,
  chainRows,
};
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, values.backward ? 'winograd-backward.json' : 'winograd.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(`\n${values.backward ? 'input gradients' : 'forward'} to block5_conv1: conv ${round2(convTotal)} ms; speed-up ${JSON.stringify(weighted)}`);
