// Times the real loss-and-gradient graph (the default layers, random weights of VGG19's full size: the speed does
// not depend on their values) on one provider at a small size: a warm-up, then a couple of timed evaluations.
// Each provider runs in a child process (canSpawnNodeChild), so its native output and its memory stay there; an
// injected runtime, or the studio (no child there), runs in this process instead.

import type { Device, Runtime } from '../../model/runtime/runtime.js';
import { canSpawnNodeChild, runInOrtChild, type ChildFeed, type OrtChildResult } from '../../model/runtime/ort-child.js';
import { onnxruntime } from '../../model/runtime/onnxruntime.js';
import { summariseOrtError } from '../../model/runtime/ort-error.js';
import { buildLossGraph, io } from '../../model/graph/vgg-graph.js';
import type { OnnxModel } from '../../model/graph/builder.js';
import { GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, layerSpec } from '../../model/vgg19.js';
import { randomVgg19Weights } from '../../weights/random.js';
import type { Vgg19Weights } from '../../weights/types.js';
import { resolveExecution } from '../execution.js';
import type { DeviceCandidate } from './candidates.js';
import type { DeviceMeasurement } from './verdict.js';

export interface MeasureOptions {
  readonly sizePx: number;
  /** Timed evaluations after the warm-up; default 2. */
  readonly runs?: number;
  /** Run the sessions on this runtime in this process (tests inject a fake provider); default a child per provider. */
  readonly runtime?: Runtime;
  /** Added to each child's environment. */
  readonly env?: NodeJS.ProcessEnv;
}

const LAYERS = { styleLayers: GATYS_STYLE_LAYERS, contentLayers: GATYS_CONTENT_LAYERS, pool: 'max' as const };

/** Measures each candidate in turn (one at a time: they would compete for the same cores and memory). */
export async function measureCandidates(candidates: readonly DeviceCandidate[], options: MeasureOptions): Promise<DeviceMeasurement[]> {
  const depth = Math.max(...[...LAYERS.styleLayers, ...LAYERS.contentLayers].map((l) => layerSpec(l).index)) + 1;
  const weights = randomVgg19Weights({ seed: 1, depth });
  const out: DeviceMeasurement[] = [];
  for (const candidate of candidates) out.push(await measureOne(candidate, weights, options));
  return out;
}

async function measureOne(candidate: DeviceCandidate, weights: Vgg19Weights, options: MeasureOptions): Promise<DeviceMeasurement> {
  const { device } = candidate;
  const size = options.sizePx;
  // The graph this provider would be given for a run: its own conv algorithm and max-pool gradient.
  const execution = resolveExecution({ device, threads: 0 }, { width: size, height: size, ...LAYERS }, options.runtime ? { runtime: options.runtime } : {});
  const graph = buildLossGraph({ width: size, height: size, ...LAYERS, weights, maxPoolGrad: execution.maxPoolGrad, convAlgorithm: execution.convAlgorithm });
  const feeds: ChildFeed[] = [
    { name: io.image, dims: [1, 3, size, size], value: 'pixels' },
    { name: io.tvWeight, dims: [], value: 1 },
    ...graph.styleLayers.flatMap((s): ChildFeed[] => [
      { name: io.styleTarget(s.layer), dims: [s.channels, s.channels], value: 0 },
      { name: io.styleWeight(s.layer), dims: [], value: 1 },
    ]),
    ...graph.contentLayers.flatMap((c): ChildFeed[] => [
      { name: io.contentTarget(c.layer), dims: [1, c.channels, c.height, c.width], value: 0 },
      { name: io.contentWeight(c.layer), dims: [], value: 1 },
    ]),
  ];
  const request = { device, feeds, warmups: 1, runs: options.runs ?? 2, threads: 0 };
  const result = options.runtime || !canSpawnNodeChild() ? await inProcess(options.runtime ?? onnxruntime('node'), graph.model, request) : await runInOrtChild(graph.model, request, options.env ? { env: options.env } : {});
  const base = { device, adapter: candidate.adapter, software: candidate.software };
  if (!result.ok) return { ...base, msPerIteration: null, setupMs: null, error: result.reason };
  return { ...base, msPerIteration: median(result.runMs), setupMs: result.createMs, error: null };
}

/** The child's work done here: a session on exactly `device` (no fallback), warmed up and timed. */
async function inProcess(runtime: Runtime, model: OnnxModel, request: { device: Device; feeds: readonly ChildFeed[]; warmups: number; runs: number; threads: number }): Promise<OrtChildResult> {
  try {
    const started = performance.now();
    const session = await runtime.create(model, { devices: [request.device], skipped: [], quietFallback: false, threads: request.threads, optimization: 'all' });
    const createMs = performance.now() - started;
    try {
      const feeds = Object.fromEntries(
        request.feeds.map((f) => {
          const data = new Float32Array(f.dims.reduce((a, b) => a * b, 1));
          if (f.value === 'pixels') for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256;
          else data.fill(f.value);
          return [f.name, session.tensor(data, f.dims)];
        }),
      );
      const runMs: number[] = [];
      for (let i = 0; i < request.warmups + request.runs; i++) {
        const t = performance.now();
        await session.run(feeds);
        if (i >= request.warmups) runMs.push(performance.now() - t);
      }
      return { ok: true, createMs, runMs };
    } finally {
      await session.dispose();
    }
  } catch (error) {
    return { ok: false, reason: summariseOrtError(error) };
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
