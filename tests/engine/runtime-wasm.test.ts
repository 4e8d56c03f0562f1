// onnxruntime-web's WebAssembly backend, run under Node, gives the native CPU provider's losses and gradient
// on a tiny random-weight VGG19 objective, and fills preallocated fetches like the native backend does.

import { beforeAll, describe, expect, it } from 'vitest';
import type { PoolKind } from '../../src/engine/settings.js';
import { buildFeatureGraph, io } from '../../src/engine/model/graph/vgg-graph.js';
import type { RuntimeBackend, RuntimeSession } from '../../src/engine/model/runtime/runtime.js';
import { resolveExecution } from '../../src/engine/render/execution.js';
import type { DeviceRequest } from '../../src/engine/settings.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { differences, evaluateHere } from '../helpers/evaluate-on-device.js';

const tinyFeatures = buildFeatureGraph({
  height: 8,
  width: 6,
  styleLayers: ['block1_conv2'],
  contentLayers: ['block1_conv1'],
  pool: 'max',
  weights: randomVgg19Weights({ seed: 3, channelScale: 1 / 16, depth: 2 }),
});

/** A session of the tiny graph, created as the execution for this request decides. */
function sessionFor(backend: RuntimeBackend, device: DeviceRequest): Promise<RuntimeSession> {
  const execution = resolveExecution({ backend, device }, { width: 6, height: 8, styleLayers: ['block1_conv2'], contentLayers: ['block1_conv1'], pool: 'max' });
  return execution.runtime.create(tinyFeatures.model, execution.session);
}

/** Why the wasm backend cannot start here, or null when it can. */
let unavailable: string | null = null;
beforeAll(async () => {
  try {
    const session = await sessionFor('web', 'cpu');
    await session.dispose();
  } catch (error) {
    unavailable = error instanceof Error ? error.message : String(error);
    console.warn(`[wasm] onnxruntime-web could not start, tests skipped: ${unavailable}`);
  }
});

describe('onnxruntime-web (wasm) under Node', () => {
  it('writes outputs into preallocated fetches, as the native backend does', async (ctx) => {
    ctx.skip(unavailable !== null, `onnxruntime-web could not start: ${unavailable}`);
    const image = new Float32Array(3 * 8 * 6).map((_, i) => (i * 37) % 255);
    const outputs: Partial<Record<'node' | 'web', Float32Array>> = {};
    for (const backend of ['node', 'web'] as const) {
      const session = await sessionFor(backend, 'cpu');
      try {
        const channels = tinyFeatures.styleLayers[0]!.channels;
        const gram = new Float32Array(channels * channels);
        const name = io.gram('block1_conv2');
        const returned = await session.run({ [io.image]: session.tensor(image, [1, 3, 8, 6]) }, { [name]: session.tensor(gram, [channels, channels]) });
        // The native backend wraps the same buffer in a new Tensor; the web one returns the fetch itself.
        expect(Array.from(returned[name]!.data as Float32Array)).toEqual(Array.from(gram));
        expect(gram.some((v) => v !== 0)).toBe(true);
        outputs[backend] = gram;
      } finally {
        await session.dispose();
      }
    }
    for (let i = 0; i < outputs.node!.length; i++) expect(Math.abs(outputs.web![i]! / outputs.node![i]! - 1)).toBeLessThan(1e-5);
  });

  it('falls back to wasm, saying why, when asked for webgpu or another device it lacks', async (ctx) => {
    ctx.skip(unavailable !== null, `onnxruntime-web could not start: ${unavailable}`);
    for (const device of ['webgpu', 'cuda'] as const) {
      const session = await sessionFor('web', device);
      try {
        // Node has no navigator.gpu, so onnxruntime-web has no webgpu backend here.
        expect(session.device).toBe('wasm');
        expect(session.fallbackReason).toMatch(new RegExp(`^${device}`));
      } finally {
        await session.dispose();
      }
    }
  });

  it.for<PoolKind>(['max', 'avg'])('gives the CPU provider’s losses (1e-4) and gradient (1e-3 relative L2) with %s pooling', async (pool, ctx) => {
    ctx.skip(unavailable !== null, `onnxruntime-web could not start: ${unavailable}`);
    const wasm = await evaluateHere({ device: 'cpu', backend: 'web', pool, repeats: 20 });
    expect(wasm.report.device).toBe('wasm');
    expect(wasm.report.fallbackReason).toBeNull();
    const cpu = await evaluateHere({ device: 'cpu', backend: 'node', pool, repeats: 20 });
    expect(cpu.report.device).toBe('cpu');

    const diff = differences(wasm, cpu);
    console.info(
      `[wasm] ${pool} pool: ${wasm.report.evaluateMs.toFixed(2)} ms/evaluation (session ${wasm.report.createMs.toFixed(0)} ms) ` +
        `vs cpu ${cpu.report.evaluateMs.toFixed(2)} ms; loss rel ${diff.lossRelative.toExponential(2)}, ` +
        `grad rel L2 ${diff.gradRelativeL2.toExponential(2)}, grad max rel ${diff.gradMaxRelative.toExponential(2)}`,
    );
    expect(cpu.report.loss.total).toBeGreaterThan(0);
    expect(diff.lossRelative).toBeLessThan(1e-4);
    expect(diff.gradRelativeL2).toBeLessThan(1e-3);
  });
});
