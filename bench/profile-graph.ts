// Benchmark (not a test): where one iteration's time goes. Builds the loss-and-gradient graph as a run would, runs it
// under onnxruntime's own profiler and sums the kernels by kind: direct 3x3 convs (forward / input gradient), the
// Winograd GEMMs and transforms, Grams and style gradients, ReLU and pool backward, pools, layout reorders. For the
// FLOP-bound kinds it also gives the work (GFLOP) and the rate reached, which bounds what any schedule of the same
// algorithms can save. Writes <out>/profile-<size>.{json,md}.
//
// Usage: npm run bench:profile -- [--size 256] [--threads 2] [--runs 5] [--conv auto|direct|winograd] [--out bench/results]
// Weights are random (full VGG19 widths): dense kernels take the same time whatever the values.

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { type ConvAlgorithm, DEFAULT_RUN_SETTINGS, randomVgg19Weights, resolveExecution } from '../src/engine/index.js';
// The profile reads the graph itself (its nodes, which layers get Winograd): internals, imported from inside the engine.
import { buildLossGraph, io } from '../src/engine/model/graph/vgg-graph.js';
import { WINOGRAD_MIN_TILES, winogradPolicy } from '../src/engine/model/graph/ops/conv.js';
import { VGG19_CONV_LAYERS, featureSize, layerSpec } from '../src/engine/model/vgg19.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '5' },
    conv: { type: 'string', default: 'auto' },
    out: { type: 'string', default: 'bench/results' },
  },
});

const size = Number(values.size);
const runs = Number(values.runs);
const threads = Number(values.threads);
const styleLayers = DEFAULT_RUN_SETTINGS.styleLayers;
const contentLayers = DEFAULT_RUN_SETTINGS.contentLayers;
// The algorithm a CPU run of this size executes with ('auto' as render/execution.ts decides it).
const { convAlgorithm: algorithm } = resolveExecution({ device: 'cpu', convAlgorithm: values.conv as ConvAlgorithm }, { width: size, height: size, styleLayers, contentLayers, pool: 'max' });
const depth = Math.max(...[...styleLayers, ...contentLayers].map((l) => layerSpec(l).index)) + 1;
const layers = VGG19_CONV_LAYERS.slice(0, depth);
const usesWinograd = (layer: (typeof layers)[number]): boolean => {
  const { height, width } = featureSize(layer, size, size);
  return algorithm === 'winograd' && winogradPolicy(layer.block, height, width, WINOGRAD_MIN_TILES);
};

// ---- the work of each FLOP-bound kind --------------------------------------------------------------------------
const KINDS = [
  'direct conv, forward',
  'direct conv, input gradient',
  'Winograd GEMMs',
  'Winograd transforms (in, out, bias)',
  'Grams and style gradients',
  'ReLU and pool backward',
  'pools (forward)',
  'layout reorders (NCHW ↔ NCHWc)',
  'other (losses, sums, TV, preprocessing)',
] as const;
type Kind = (typeof KINDS)[number];
const gflop = new Map<Kind, number>(KINDS.map((k) => [k, 0]));
for (const layer of layers) {
  const { height, width } = featureSize(layer, size, size);
  const direct = (2 * 9 * layer.inChannels * layer.outChannels * height * width) / 1e9;
  if (usesWinograd(layer)) {
    const tiles = Math.ceil(height / 4) * Math.ceil(width / 4);
    gflop.set('Winograd GEMMs', gflop.get('Winograd GEMMs')! + (2 * 2 * 36 * layer.inChannels * layer.outChannels * tiles) / 1e9);
  } else {
    gflop.set('direct conv, forward', gflop.get('direct conv, forward')! + direct);
    gflop.set('direct conv, input gradient', gflop.get('direct conv, input gradient')! + direct);
  }
}
for (const name of styleLayers) {
  const layer = layerSpec(name);
  const { height, width } = featureSize(layer, size, size);
  gflop.set('Grams and style gradients', gflop.get('Grams and style gradients')! + (2 * 2 * layer.outChannels ** 2 * height * width) / 1e9);
}

/** The kind of a profiled kernel, from its node name (graph/ops name them by layer and role) and op type. */
function kindOf(node: string, op: string): Kind {
  if (op.startsWith('Reorder')) return 'layout reorders (NCHW ↔ NCHWc)';
  if (node.includes('winograd_M')) return 'Winograd GEMMs';
  if (node.includes('winograd') || op === 'DepthToSpace') return 'Winograd transforms (in, out, bias)';
  if (/^style_/.test(node) || node.includes(':style_')) return 'Grams and style gradients';
  if (op === 'Conv' || op === 'FusedConv') {
    if (node.includes('_dinput')) return 'direct conv, input gradient';
    return 'direct conv, forward';
  }
  if (op === 'Add' && node.includes('_preact')) return 'Winograd transforms (in, out, bias)';
  if (op === 'Sign' || op === 'MaxUnpool' || node.includes('dpreact') || node.includes('pool_grad') || node.startsWith('sign') || node.includes(':sign')) {
    return 'ReLU and pool backward';
  }
  if (op === 'MaxPool' || op === 'AveragePool') return 'pools (forward)';
  return 'other (losses, sums, TV, preprocessing)';
}

// ---- build, run under the profiler -----------------------------------------------------------------------------
const weights = randomVgg19Weights({ seed: 1, depth });
const built = buildLossGraph({ height: size, width: size, styleLayers, contentLayers, pool: 'max', weights, convAlgorithm: algorithm });
const profileDir = mkdtempSync(path.join(os.tmpdir(), 'nst-profile-'));
const session = await ort.InferenceSession.create(built.model.bytes, {
  externalData: [...built.model.external],
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  enableProfiling: true,
  profileFilePrefix: path.join(profileDir, 'profile'),
  logSeverityLevel: 3,
});
const tensor = (dims: number[], fill: (i: number) => number): ort.Tensor =>
  new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)), dims);
const feeds: Record<string, ort.Tensor> = { [io.image]: tensor([1, 3, size, size], (i) => (i * 7919) % 255), [io.tvWeight]: tensor([], () => 1) };
for (const l of built.styleLayers) {
  feeds[io.styleTarget(l.layer)] = tensor([l.channels, l.channels], () => 0);
  feeds[io.styleWeight(l.layer)] = tensor([], () => 1);
}
for (const l of built.contentLayers) {
  feeds[io.contentTarget(l.layer)] = tensor([1, l.channels, l.height, l.width], () => 0);
  feeds[io.contentWeight(l.layer)] = tensor([], () => 1);
}
const warmups = 2;
for (let i = 0; i < warmups + runs; i++) await session.run(feeds);
session.endProfiling(); // writes <profileDir>/profile_<timestamp>.json (the Node binding does not return the name)
await session.release();
const events = JSON.parse(readFileSync(path.join(profileDir, readdirSync(profileDir)[0]!), 'utf8')) as {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}[];
rmSync(profileDir, { recursive: true, force: true });

// Kernel times of the timed runs only (the profile holds the warm-ups too): split by model_run boundaries.
const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
const timedRuns = modelRuns.slice(warmups);
const firstTimed = (timedRuns[0] as unknown as { ts: number }).ts;
const ms = new Map<Kind, number>(KINDS.map((k) => [k, 0]));
const byNode = new Map<string, number>();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || (e as unknown as { ts: number }).ts < firstTimed) continue;
  const node = e.name.replace(/_kernel_time$/, '');
  const op = e.args?.op_name ?? '?';
  const kind = kindOf(node, op);
  ms.set(kind, ms.get(kind)! + e.dur / 1000 / runs);
  byNode.set(`${op} ${node}`, (byNode.get(`${op} ${node}`) ?? 0) + e.dur / 1000 / runs);
}
const runMs = timedRuns.reduce((s, e) => s + e.dur, 0) / 1000 / runs;
const kernelMs = [...ms.values()].reduce((a, b) => a + b, 0);

// ---- report ----------------------------------------------------------------------------------------------------
const round1 = (x: number): number => Math.round(x * 10) / 10;
const rows = KINDS.map((kind) => {
  const work = gflop.get(kind)!;
  const t = ms.get(kind)!;
  return { kind, ms: round1(t), percent: round1((100 * t) / kernelMs), gflop: work > 0 ? round1(work) : null, gflops: work > 0 && t > 0 ? Math.round(work / (t / 1000)) : null };
});
const flopBound = rows.filter((r) => r.gflops !== null);
const bestRate = Math.max(...flopBound.map((r) => r.gflops!));
const floorMs = flopBound.reduce((s, r) => s + (r.gflop! / bestRate) * 1000, 0);
const top = [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([node, t]) => ({ node, ms: round1(t) }));
const report = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} (${os.cpus().length} cores)`,
  config: { sizePx: size, threads, runs, conv: algorithm, styleLayers, contentLayers, pool: 'max', onnxruntime: ort.env.versions.common },
  msPerRun: round1(runMs),
  kernelMsPerRun: round1(kernelMs),
  kinds: rows,
  floor: { bestGflops: bestRate, msAtBestRateForFlopBoundKinds: round1(floorMs) },
  topNodes: top,
};
mkdirSync(values.out!, { recursive: true });
const base = path.join(values.out!, `profile-${size}`);
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
const md = [
  `Measured ${report.date.slice(0, 10)} on ${report.machine}; ${size} px, ${threads} threads, conv ${algorithm}, style ${styleLayers.join(',')}, content ${contentLayers.join(',')}, max pool; onnxruntime's profiler, mean of ${runs} runs after ${warmups} warm-ups.`,
  '',
  `One run: ${report.msPerRun} ms (kernels ${report.kernelMsPerRun} ms).`,
  '',
  '| kind | ms | % | GFLOP | GFLOP/s |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.kind} | ${r.ms} | ${r.percent} | ${r.gflop ?? ''} | ${r.gflops ?? ''} |`),
  '',
  `The FLOP-bound kinds' work at the best rate any of them reached (${bestRate} GFLOP/s) takes ${report.floor.msAtBestRateForFlopBoundKinds} ms.`,
  '',
  'Slowest nodes:',
  '',
  ...top.map((t) => `- ${t.node}: ${t.ms} ms`),
  '',
].join('\n');
writeFileSync(`${base}.md`, md);
console.log(md);
