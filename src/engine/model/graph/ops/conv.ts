// 3x3 stride-1 pad-1 convolution: forward, and its gradient with respect to the input, each either as
// onnxruntime's Conv ('direct') or as Winograd F(4x4,3x3) written in plain ONNX ops ('winograd', on the layers
// winogradPolicy picks). A run's 'auto' is decided with its device and memory in render/execution.ts.

import type { GraphBuilder, Value } from '../builder.js';
import type { ConvWeights } from '../../../weights/types.js';

/** Fewest 4x4 output tiles a map needs for Winograd to pay (see winogradPolicy): a 16x16 map. */
export const WINOGRAD_MIN_TILES = 16;

/**
 * Which layers Winograd pays on: blocks 3–5 with maps of at least `minTiles` tiles. Blocks 1–2's transforms are
 * memory-bound and small maps are bound by reading U; measured in docs/performance.md ("Winograd convolutions").
 * Keyed by block, not channels, so narrow test weights exercise the same layers as the real ones.
 */
export function winogradPolicy(block: number, height: number, width: number, minTiles = WINOGRAD_MIN_TILES): boolean {
  return block >= 3 && Math.ceil(height / TILE) * Math.ceil(width / TILE) >= minTiles;
}

/** y = conv(x, W) + b, same spatial size (pad 1). */
export function conv3x3(g: GraphBuilder, x: Value, layer: string, w: ConvWeights, algorithm: 'direct' | 'winograd' = 'direct'): Value {
  const bias = g.floatInitializer(`${layer}_b`, w.bias, algorithm === 'winograd' ? [1, w.outChannels, 1, 1] : [w.outChannels]);
  if (algorithm === 'winograd') return winograd3x3(g, x, w.kernel, w.outChannels, w.inChannels, bias, layer, `${layer}_preact`);
  const kernel = g.floatInitializer(`${layer}_W`, w.kernel, [w.outChannels, w.inChannels, 3, 3]);
  const [n, , h, wd] = x.shape as [number, number, number, number];
  return g.node('Conv', [x, kernel, bias], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, {
    shape: [n, w.outChannels, h, wd],
    name: `${layer}_preact`,
  });
}

/**
 * dL/dx = conv(dL/dy, W′, pad 1) with W′[i, o] = W[o, i] flipped in both spatial axes. The bias has no part
 * in dL/dx. A plain Conv (rather than ConvTranspose) keeps the backward pass on the runtime's fastest kernels,
 * and lets the Winograd emitter serve it unchanged (W′ is just another 3x3 kernel).
 */
export function conv3x3InputGrad(g: GraphBuilder, dy: Value, layer: string, w: ConvWeights, algorithm: 'direct' | 'winograd' = 'direct'): Value {
  const flipped = flipTransposeKernel(w);
  if (algorithm === 'winograd') return winograd3x3(g, dy, flipped, w.inChannels, w.outChannels, null, `${layer}_dinput`, `${layer}_dinput`);
  const kernel = g.floatInitializer(`${layer}_W_flipT`, flipped, [w.inChannels, w.outChannels, 3, 3]);
  const [n, , h, wd] = dy.shape as [number, number, number, number];
  return g.node('Conv', [dy, kernel], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, {
    shape: [n, w.inChannels, h, wd],
    name: `${layer}_dinput`,
  });
}

/** OIHW kernel → its input-gradient kernel: in/out channels swapped, both spatial axes reversed. */
export function flipTransposeKernel(w: ConvWeights): Float32Array {
  const { outChannels: cout, inChannels: cin, kernel } = w;
  const out = new Float32Array(kernel.length);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      const src = (o * cin + i) * 9;
      const dst = (i * cout + o) * 9;
      for (let k = 0; k < 9; k++) out[dst + 8 - k] = kernel[src + k]!;
    }
  }
  return out;
}

// ---- Winograd F(4x4, 3x3) (Lavin & Gray 2015): 4x4 output tiles from 6x6 input tiles ----
// Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A per tile; the interpolation points 0, ±1, ±2, ∞ (Lavin's), whose float32
// error on VGG's layers is ~1e-5 relative to the output's largest value (tests/engine/winograd.test.ts).

const TILE = 4; // output tile side m
const WINDOW = 6; // input tile side m + 2
const POSITIONS = WINDOW * WINDOW;
const BT = [
  [4, 0, -5, 0, 1, 0],
  [0, -4, -4, 1, 1, 0],
  [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 2, -1, -2, 1, 0],
  [0, 4, 0, -5, 0, 1],
] as const;
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
] as const;
const AT = [
  [1, 1, 1, 1, 1, 0],
  [0, 1, -1, 2, -2, 0],
  [0, 1, 1, 4, 4, 0],
  [0, 1, -1, 8, -8, 1],
] as const;
/** The F(4x4,3x3) transform matrices, as the graph uses them: checked against a plain correlation in the tests. */
export const WINOGRAD_F4 = { BT, G, AT } as const;

/**
 * U = G·g·Gᵀ for every (out, in) pair of an OIHW kernel, laid out [36, out, in]: position ab's K×C matrix is the
 * left operand of that position's GEMM. Computed in float64 from the float32 kernel, rounded once to float32.
 */
export function winogradKernelTransform(kernel: Float32Array, outChannels: number, inChannels: number): Float32Array {
  const u = new Float32Array(POSITIONS * outChannels * inChannels);
  const gg = new Float64Array(WINDOW * 3);
  for (let o = 0; o < outChannels; o++) {
    for (let i = 0; i < inChannels; i++) {
      const base = (o * inChannels + i) * 9;
      // G·g (6x3) first, then (G·g)·Gᵀ.
      for (let a = 0; a < WINDOW; a++) {
        for (let t = 0; t < 3; t++) {
          gg[a * 3 + t] = G[a]![0]! * kernel[base + t]! + G[a]![1]! * kernel[base + 3 + t]! + G[a]![2]! * kernel[base + 6 + t]!;
        }
      }
      for (let a = 0; a < WINDOW; a++) {
        for (let b = 0; b < WINDOW; b++) {
          const s = gg[a * 3]! * G[b]![0]! + gg[a * 3 + 1]! * G[b]![1]! + gg[a * 3 + 2]! * G[b]![2]!;
          u[((a * WINDOW + b) * outChannels + o) * inChannels + i] = s;
        }
      }
    }
  }
  return u;
}

/** The 36 input-transform kernels [36, 1, 6, 6]: kernel ab at (i, j) is Bᵀ[a][i]·Bᵀ[b][j], so conv(d) = (Bᵀ d B)[a][b]. */
function inputTransformKernels(): Float32Array {
  const out = new Float32Array(POSITIONS * POSITIONS);
  for (let a = 0; a < WINDOW; a++) {
    for (let b = 0; b < WINDOW; b++) {
      for (let i = 0; i < WINDOW; i++) for (let j = 0; j < WINDOW; j++) out[((a * WINDOW + b) * WINDOW + i) * WINDOW + j] = BT[a]![i]! * BT[b]![j]!;
    }
  }
  return out;
}

/** [16, 36]: row pq maps a tile's 36 GEMM outputs to its output pixel (p, q), i.e. Aᵀ M A. */
function outputTransformMatrix(): Float32Array {
  const out = new Float32Array(TILE * TILE * POSITIONS);
  for (let p = 0; p < TILE; p++) {
    for (let q = 0; q < TILE; q++) {
      for (let a = 0; a < WINDOW; a++) for (let b = 0; b < WINDOW; b++) out[(p * TILE + q) * POSITIONS + a * WINDOW + b] = AT[p]![a]! * AT[q]![b]!;
    }
  }
  return out;
}

/** The transforms' constants, one copy per graph (and per channel count for Bᵀ): 5 KB a channel otherwise per layer. */
const transformsByGraph = new WeakMap<GraphBuilder, { a: Value; bk: Map<number, Value> }>();

function sharedTransforms(g: GraphBuilder, channels: number): { bk: Value; a: Value } {
  let entry = transformsByGraph.get(g);
  if (!entry) {
    entry = { a: g.floatInitializer('winograd_A', outputTransformMatrix(), [TILE * TILE, POSITIONS]), bk: new Map() };
    transformsByGraph.set(g, entry);
  }
  let bk = entry.bk.get(channels);
  if (!bk) {
    const basis = inputTransformKernels();
    const repeated = new Float32Array(POSITIONS * POSITIONS * channels);
    for (let i = 0; i < channels; i++) repeated.set(basis, i * POSITIONS * POSITIONS);
    bk = g.floatInitializer(`winograd_BT_${channels}`, repeated, [POSITIONS * channels, 1, WINDOW, WINDOW]);
    entry.bk.set(channels, bk);
  }
  return { bk, a: entry.a };
}

/**
 * conv(x, kernel, pad 1) (+ bias) for x [1, C, H, W] and an OIHW kernel [K, C, 3, 3], any H, W ≥ 1, as
 *   grouped Conv (the input transform) → [C, 36, T] → Transpose [36, C, T] → MatMul U[36, K, C] → [36, K, T]
 *   → MatMul A[16, 36] (the output transform) → [16, K, T] → DepthToSpace(4) → crop → + bias.
 * Tile layout: T = ⌈H/4⌉·⌈W/4⌉ tiles, rows of tiles outermost, as the grouped Conv emits them. Tiles are the
 * GEMMs' columns (the long dimension) and channels their rows, so each of the 36 GEMMs is a plain K×C by C×T
 * product; [16, K, T] is already DepthToSpace's DCR channel order (channel (p·4 + q)·K + k), so no 5-D
 * Transpose is needed to put the 4x4 tiles back in place (a tiles-by-channels layout measured slower for that).
 * Padding: tile (i, j) reads input rows 4i − 1 … 4i + 4 (pad 1 above, stride 4, 6x6 window). When a side is not
 * a multiple of 4 the last tiles run past the map: the Conv's bottom/right pad extends the zero border to
 * 4⌈H/4⌉ + 1 rows, which is exactly the conv's own zero padding for every real output pixel; the outputs past
 * H×W are computed on zeros and sliced off. A 1x1 map is thus one 4x4 tile of which one pixel is kept.
 */
function winograd3x3(
  g: GraphBuilder,
  x: Value,
  kernel: Float32Array,
  outChannels: number,
  inChannels: number,
  bias: Value | null,
  layer: string,
  outName: string,
): Value {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (n !== 1) throw new RangeError(`Winograd conv ${layer}: batch must be 1, got ${n}.`);
  if (c !== inChannels) throw new RangeError(`Winograd conv ${layer}: input has ${c} channels, the kernel reads ${inChannels}.`);
  const k = outChannels;
  const th = Math.ceil(h / TILE);
  const tw = Math.ceil(w / TILE);
  const t = th * tw;
  const shape = (hint: string, dims: number[]): Value => g.int64Initializer(`${layer}_${hint}`, dims);
  // Bᵀ·d·B as a grouped Conv (group = C): one 6x6 basis per (channel, position), 36 outputs per input channel.
  const { bk, a } = sharedTransforms(g, c);
  const u = g.floatInitializer(`${layer}_winograd_U`, winogradKernelTransform(kernel, k, c), [POSITIONS, k, c]);
  const pads = [1, 1, TILE * th - h + 1, TILE * tw - w + 1];
  const v = g.node('Conv', [x, bk], { kernel_shape: [WINDOW, WINDOW], pads, strides: [TILE, TILE], group: c }, {
    shape: [1, POSITIONS * c, th, tw],
    name: `${layer}_winograd_V`,
  });
  const v3 = g.node('Reshape', [v, shape('winograd_v3', [c, POSITIONS, t])], {}, { shape: [c, POSITIONS, t] });
  const vt = g.node('Transpose', [v3], { perm: [1, 0, 2] }, { shape: [POSITIONS, c, t] });
  const m = g.node('MatMul', [u, vt], {}, { shape: [POSITIONS, k, t], name: `${layer}_winograd_M` });
  const m2 = g.node('Reshape', [m, shape('winograd_m2', [POSITIONS, k * t])], {}, { shape: [POSITIONS, k * t] });
  const y = g.node('MatMul', [a, m2], {}, { shape: [TILE * TILE, k * t], name: `${layer}_winograd_Y` });
  const y4 = g.node('Reshape', [y, shape('winograd_y4', [1, TILE * TILE * k, th, tw])], {}, { shape: [1, TILE * TILE * k, th, tw] });
  const exact = TILE * th === h && TILE * tw === w;
  let out = g.node('DepthToSpace', [y4], { blocksize: TILE, mode: 'DCR' }, {
    shape: [1, k, TILE * th, TILE * tw],
    name: exact && !bias ? outName : `${layer}_winograd_tiles`,
  });
  if (!exact) {
    out = g.node('Slice', [out, shape('winograd_starts', [0, 0]), shape('winograd_ends', [h, w]), shape('winograd_axes', [2, 3])], {}, {
      shape: [1, k, h, w],
      ...(bias ? {} : { name: outName }),
    });
  }
  return bias ? g.node('Add', [out, bias], {}, { shape: [1, k, h, w], name: outName }) : out;
}
