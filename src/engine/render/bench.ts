// Per-iteration speed and memory of the loss graph: what `nst bench` and the benchmark script report.

import { StyleObjective } from '../model/objective.js';
import type { PoolKind } from '../settings.js';
import type { Device } from '../model/runtime/runtime.js';
import type { DeviceRequest } from '../settings.js';
import { VGG19_CONV_LAYERS, featureSize, layerSpec } from '../model/vgg19.js';
import type { Vgg19Weights } from '../weights/types.js';
import { createRng } from '../sys/random.js';
import type { ConvAlgorithm } from '../settings.js';
import { objectiveShape, resolveExecution } from './execution.js';

export interface BenchOptions {
  readonly weights: Vgg19Weights;
  readonly sizePx: number;
  readonly iterations: number;
  readonly styleLayers: readonly string[];
  readonly contentLayers: readonly string[];
  readonly pool: PoolKind;
  readonly device: DeviceRequest;
  readonly threads: number;
  /** Default 'auto' (render/execution.ts decides). */
  readonly convAlgorithm?: ConvAlgorithm;
}

export interface BenchResult {
  msPerIterMedian: number;
  msPerIter: number[];
  peakRssMb: number;
  gflopPerIter: number;
  gflops: number;
  device: Device;
  /** The algorithm the graph was built with. */
  convAlgorithm: 'direct' | 'winograd';
  setupMs: number;
  /** Process CPU time (all threads) per iteration, median: on a shared box, wall time alone misleads. */
  cpuMsPerIterMedian: number;
}

/**
 * Floating-point work of one evaluation: each conv forward and its input gradient (2·MACs each), plus the
 * Gram and its gradient for each style layer. The first conv's input gradient is counted too (it is computed).
 */
export function gflopPerIteration(sizePx: number, styleLayers: readonly string[], contentLayers: readonly string[]): number {
  const layers = [...styleLayers, ...contentLayers].map((l) => layerSpec(l));
  const depth = Math.max(...layers.map((l) => l.index)) + 1;
  let flop = 0;
  for (const layer of VGG19_CONV_LAYERS.slice(0, depth)) {
    const { height, width } = featureSize(layer, sizePx, sizePx);
    flop += 2 * 2 * 9 * layer.inChannels * layer.outChannels * height * width;
  }
  for (const name of styleLayers) {
    const layer = layerSpec(name);
    const { height, width } = featureSize(layer, sizePx, sizePx);
    flop += 2 * 2 * layer.outChannels * layer.outChannels * height * width;
  }
  return flop / 1e9;
}

export async function benchmark(options: BenchOptions): Promise<BenchResult> {
  const { sizePx } = options;
  const rng = createRng(1);
  const noise = (): { width: number; height: number; data: Float32Array } => ({
    width: sizePx,
    height: sizePx,
    data: Float32Array.from({ length: 3 * sizePx * sizePx }, () => 255 * rng.uniform()),
  });
  const setupStart = performance.now();
  const size = { width: sizePx, height: sizePx };
  const objective = await StyleObjective.create({
    weights: options.weights,
    width: sizePx,
    height: sizePx,
    styleLayers: options.styleLayers,
    contentLayers: options.contentLayers,
    pool: options.pool,
    styleImages: [noise()],
    contentImage: noise(),
    styleWeight: 1,
    contentWeight: 1,
    tvWeight: 1,
    execution: resolveExecution(options, objectiveShape(size, options, [size])),
  });
  const setupMs = performance.now() - setupStart;
  try {
    const image = noise().data;
    const grad = new Float32Array(image.length);
    await objective.evaluate(image, grad); // warm-up: first runs allocate the arena and pick kernels
    const times: number[] = [];
    const cpuTimes: number[] = [];
    for (let i = 0; i < options.iterations; i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await objective.evaluate(image, grad);
      times.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      cpuTimes.push((cpu.user + cpu.system) / 1000);
    }
    const median = medianOf(times);
    const gflop = gflopPerIteration(sizePx, options.styleLayers, options.contentLayers);
    return {
      msPerIterMedian: median,
      msPerIter: times,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      gflopPerIter: gflop,
      gflops: gflop / (median / 1000),
      device: objective.device,
      convAlgorithm: objective.convAlgorithm,
      setupMs,
      cpuMsPerIterMedian: medianOf(cpuTimes),
    };
  } finally {
    await objective.dispose();
  }
}


function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
}
