// resolveExecution decides once what a run executes with (providers, conv algorithm, max-pool gradient, session
// options), and the objective builds and runs exactly that, on whatever runtime the execution names.

import { afterAll, describe, expect, it } from 'vitest';
import { objectiveShape, resolveExecution, WINOGRAD_AUTO_MAX_BYTES, WINOGRAD_AUTO_MIN_PX, type PlatformProbe } from '../../src/engine/render/execution.js';
import { estimateMemory, type RunShape } from '../../src/engine/render/memory.js';
import { planOn, type Device, type Runtime, type RuntimeSession, type SessionPlan } from '../../src/engine/model/runtime/runtime.js';
import { onnxruntime } from '../../src/engine/model/runtime/onnxruntime.js';
import { StyleObjective } from '../../src/engine/model/objective.js';
import { buildFeatureGraph, io } from '../../src/engine/model/graph/vgg-graph.js';
import type { OnnxModel } from '../../src/engine/model/graph/builder.js';
import { GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS } from '../../src/engine/model/vgg19.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { noiseImage } from '../../src/engine/io/image.js';

const linux = (cudaLibraries: boolean): PlatformProbe => ({ os: 'linux', cudaLibraries });
const WINDOWS: PlatformProbe = { os: 'win32', cudaLibraries: false };
const MAC: PlatformProbe = { os: 'darwin', cudaLibraries: false };
const gatys = (px: number, extra: Partial<RunShape> = {}): RunShape => ({ width: px, height: px, styleLayers: GATYS_STYLE_LAYERS, contentLayers: GATYS_CONTENT_LAYERS, pool: 'max', ...extra });
const AT_256 = gatys(256);
/** The smallest of the usual sizes where 'auto' takes Winograd on the CPU. */
const AT_384 = gatys(384);

describe('resolveExecution: providers and the max-pool gradient', () => {
  it('auto on Linux tries CUDA first where its libraries are installed, and says why it skipped it where not', () => {
    const withCuda = resolveExecution({}, AT_256, { platform: linux(true) });
    expect(withCuda.session).toMatchObject({ devices: ['cuda', 'cpu'], skipped: [], quietFallback: true });
    expect(withCuda).toMatchObject({ device: 'cuda', maxPoolGrad: 'argmax', convAlgorithm: 'direct', convReason: 'provider' });
    const without = resolveExecution({ device: 'auto' }, AT_384, { platform: linux(false) });
    expect(without.session).toMatchObject({ devices: ['cpu'], skipped: [expect.stringMatching(/^cuda libraries not installed/)], quietFallback: true });
    expect(without).toMatchObject({ device: 'cpu', maxPoolGrad: 'argmax', convAlgorithm: 'winograd', convReason: 'size' });
  });

  it('auto that lands on DirectML (Windows) or CoreML (macOS) gets the mask gradient: they lack MaxPool indices', () => {
    const windows = resolveExecution({}, AT_256, { platform: WINDOWS });
    expect(windows.session.devices).toEqual(['dml', 'cpu']);
    expect(windows).toMatchObject({ device: 'dml', maxPoolGrad: 'mask', convAlgorithm: 'direct' });
    expect(resolveExecution({}, AT_256, { platform: { os: 'win32', cudaLibraries: true } })).toMatchObject({ device: 'cuda', maxPoolGrad: 'argmax' });
    expect(resolveExecution({}, AT_256, { platform: MAC })).toMatchObject({ device: 'coreml', maxPoolGrad: 'mask', convAlgorithm: 'direct' });
  });

  it('an explicit device is tried first, then the CPU, and says why when it falls back; its gradient is its own', () => {
    for (const device of ['dml', 'coreml', 'webgpu'] as const) {
      const execution = resolveExecution({ device }, AT_256, { platform: linux(false) });
      expect(execution.session).toMatchObject({ devices: [device, 'cpu'], skipped: [], quietFallback: false });
      expect(execution).toMatchObject({ device, maxPoolGrad: 'mask', convAlgorithm: 'direct' });
    }
    // Explicit CUDA is tried even without its libraries (the user asked): the fallback then says why.
    expect(resolveExecution({ device: 'cuda' }, AT_256, { platform: linux(false) })).toMatchObject({ device: 'cuda', maxPoolGrad: 'argmax', session: { devices: ['cuda', 'cpu'] } });
    expect(resolveExecution({ device: 'cpu' }, AT_256, { platform: WINDOWS })).toMatchObject({ device: 'cpu', maxPoolGrad: 'argmax', session: { devices: ['cpu'] } });
  });

  it('onnxruntime-web: WebGPU then wasm, everything else wasm (with a reason for a provider it does not have)', () => {
    expect(resolveExecution({ backend: 'web', device: 'webgpu' }, AT_256)).toMatchObject({ device: 'webgpu', maxPoolGrad: 'mask', convAlgorithm: 'direct', session: { devices: ['webgpu', 'wasm'] } });
    expect(resolveExecution({ backend: 'web', device: 'auto' }, AT_384)).toMatchObject({ device: 'wasm', maxPoolGrad: 'argmax', convAlgorithm: 'winograd', session: { devices: ['wasm'], skipped: [] } });
    expect(resolveExecution({ backend: 'web', device: 'dml' }, AT_256)).toMatchObject({ device: 'wasm', maxPoolGrad: 'argmax', session: { skipped: ['dml is not available in the WebAssembly runtime'] } });
  });

  it('carries the session options and refuses what is not a device, a conv algorithm or a thread count, naming it', () => {
    expect(resolveExecution({ device: 'cpu', threads: 3 }, AT_256).session).toMatchObject({ threads: 3, optimization: 'all' });
    expect(resolveExecution({ device: 'cpu' }, AT_256).session.threads).toBe(0);
    expect(() => resolveExecution({ device: 'tpu' as 'cpu' }, AT_256)).toThrow('Unknown device "tpu": use one of auto, cpu, cuda, dml, webgpu, coreml.');
    expect(() => resolveExecution({ convAlgorithm: 'fft' as 'auto' }, AT_256)).toThrow('convAlgorithm must be direct, winograd, auto, got "fft".');
    expect(() => resolveExecution({ threads: 1.5 }, AT_256)).toThrow('threads must be a whole number from 0 to 256, got 1.5.');
  });
});

describe('resolveExecution: the conv algorithm', () => {
  const cpu = { device: 'cpu' } as const;

  it("'auto' on the CPU: Winograd while an L-BFGS run's estimate with it is within 2 GiB, whatever the optimizer", () => {
    const lbfgsWinograd = (px: number): number => estimateMemory({ ...gatys(px), optimizer: 'lbfgs', device: 'cpu', convAlgorithm: 'winograd', maxPoolGrad: 'argmax' }).totalBytes;
    expect(lbfgsWinograd(384)).toBeLessThanOrEqual(WINOGRAD_AUTO_MAX_BYTES);
    expect(resolveExecution(cpu, gatys(384))).toMatchObject({ convAlgorithm: 'winograd', convReason: 'size' });
    // Below WINOGRAD_AUTO_MIN_PX its setup is not repaid in a run the adaptive stop ends.
    expect(resolveExecution(cpu, gatys(WINOGRAD_AUTO_MIN_PX)).convAlgorithm).toBe('winograd');
    expect(resolveExecution(cpu, gatys(WINOGRAD_AUTO_MIN_PX - 1))).toMatchObject({ convAlgorithm: 'direct', convReason: 'size' });
    expect(resolveExecution(cpu, AT_256).convAlgorithm).toBe('direct');
    expect(resolveExecution(cpu, gatys(512)).convAlgorithm).toBe('winograd');
    expect(lbfgsWinograd(700)).toBeGreaterThan(WINOGRAD_AUTO_MAX_BYTES);
    expect(resolveExecution(cpu, gatys(700))).toMatchObject({ convAlgorithm: 'direct', convReason: 'size' });
    // Adam would fit with Winograd at 700 px, but a graph does not depend on the optimizer.
    expect(resolveExecution(cpu, gatys(700, { optimizer: 'adam' })).convAlgorithm).toBe('direct');
  });

  it("'auto' under a render's memory limit: Conv when the run with auto's choice does not fit", () => {
    const winogradBytes = estimateMemory({ ...AT_384, device: 'cpu', convAlgorithm: 'winograd', maxPoolGrad: 'argmax' }).totalBytes;
    expect(resolveExecution(cpu, AT_384, { memoryLimitBytes: winogradBytes })).toMatchObject({ convAlgorithm: 'winograd', convReason: 'size' });
    expect(resolveExecution(cpu, AT_384, { memoryLimitBytes: winogradBytes - 1 })).toMatchObject({ convAlgorithm: 'direct', convReason: 'memory-limit' });
    // Already Conv by size, and over the limit: still said, so that every stage of the render keeps Conv.
    expect(resolveExecution(cpu, gatys(700), { memoryLimitBytes: 2 ** 20 }).convReason).toBe('memory-limit');
  });

  it('an explicit algorithm stands, on any provider and under any limit', () => {
    expect(resolveExecution({ device: 'cuda', convAlgorithm: 'winograd' }, AT_256, { memoryLimitBytes: 1 })).toMatchObject({ convAlgorithm: 'winograd', convReason: 'requested' });
    expect(resolveExecution({ device: 'cpu', convAlgorithm: 'direct' }, AT_256)).toMatchObject({ convAlgorithm: 'direct', convReason: 'requested' });
  });

  it('objectiveShape counts the style images as one of their total size', () => {
    const shape = objectiveShape({ width: 40, height: 30 }, { styleLayers: ['block1_conv1'], contentLayers: [], pool: 'avg' }, [{ width: 80, height: 60 }, { width: 40, height: 30 }]);
    expect(shape).toEqual({ width: 40, height: 30, styleLayers: ['block1_conv1'], contentLayers: [], pool: 'avg', styleImages: 1, styleScale: Math.sqrt(5) });
  });
});

/** The real onnxruntime behind a recorder: every session's plan and model, every run's feed and fetch names. */
class RecordingRuntime implements Runtime {
  readonly created: { plan: SessionPlan; model: OnnxModel }[] = [];
  readonly runs: { feeds: string[]; fetches: string[] }[] = [];

  /** `runOn`: run every session on this provider whatever the plan says (a DirectML plan on this CPU). */
  constructor(private readonly inner: Runtime = onnxruntime('node'), private readonly runOn?: Device) {}

  get backend(): Runtime['backend'] {
    return this.inner.backend;
  }

  async create(model: OnnxModel, plan: SessionPlan): Promise<RuntimeSession> {
    this.created.push({ plan, model });
    const session = await this.inner.create(model, this.runOn ? planOn(plan, this.runOn) : plan);
    const runs = this.runs;
    return {
      device: session.device,
      fallbackReason: session.fallbackReason,
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      tensor: (data, dims) => session.tensor(data, dims),
      run(feeds, fetches) {
        runs.push({ feeds: Object.keys(feeds).sort(), fetches: (Array.isArray(fetches) ? [...fetches] : Object.keys(fetches ?? {})).sort() });
        return session.run(feeds, fetches);
      },
      dispose: () => session.dispose(),
    };
  }
}

describe('the objective on an injected runtime', () => {
  const weights = randomVgg19Weights({ seed: 5, channelScale: 1 / 16, depth: 3 });
  // block1_conv2 carries no loss: its max pool is differentiated through MaxPool's indices (MaxUnpool) on the CPU.
  const layers = { styleLayers: ['block1_conv1', 'block2_conv1'], contentLayers: ['block2_conv1'], pool: 'max' as const };
  const size = { width: 24, height: 20 };
  const style = noiseImage(28, 22, 2);
  const content = noiseImage(size.width, size.height, 3);
  const opened: StyleObjective[] = [];
  afterAll(async () => Promise.all(opened.map((o) => o.dispose())));
  const create = async (runtime: RecordingRuntime, platform: PlatformProbe, device: 'auto' | 'cpu' = 'auto') => {
    const execution = resolveExecution({ device, threads: 1 }, objectiveShape(size, layers, [style]), { runtime, platform });
    const objective = await StyleObjective.create({ ...layers, ...size, weights, styleImages: [style], contentImage: content, styleWeight: 1, contentWeight: 1, tvWeight: 1, execution });
    opened.push(objective);
    return { execution, objective };
  };
  const hasMaxUnpool = (model: OnnxModel): boolean => Buffer.from(model.bytes).includes('MaxUnpool');

  it('creates its sessions with the decided plan and runs the loss graph with the feeds and fetches it names', async () => {
    const runtime = new RecordingRuntime();
    const { execution, objective } = await create(runtime, linux(false));
    // The loss graph with the execution's plan; then the targets' forward graphs (style, content) on its provider.
    expect(runtime.created.map((c) => c.plan)).toEqual([execution.session, planOn(execution.session, 'cpu'), planOn(execution.session, 'cpu')]);
    expect(runtime.created[0]!.plan).toMatchObject({ devices: ['cpu'], threads: 1 });
    expect(objective.device).toBe('cpu');
    expect(objective.fallbackReason).toMatch(/^cuda libraries not installed/);
    expect(runtime.runs.map((r) => r.feeds)).toEqual([[io.image], [io.image]]);

    const x = noiseImage(size.width, size.height, 4).data;
    await objective.evaluate(x, new Float32Array(x.length));
    expect(runtime.runs.at(-1)).toEqual({
      feeds: [io.contentTarget('block2_conv1'), io.contentWeight('block2_conv1'), io.image, io.styleTarget('block1_conv1'), io.styleTarget('block2_conv1'), io.styleWeight('block1_conv1'), io.styleWeight('block2_conv1'), io.tvWeight].sort(),
      fetches: [io.contentLoss('block2_conv1'), io.grad, io.styleLoss('block1_conv1'), io.styleLoss('block2_conv1'), io.total, io.tv].sort(),
    });
  });

  it("builds the graph for the device auto lands on: DirectML's mask gradient and Conv, not the CPU's argmax", async () => {
    const onCpu = new RecordingRuntime();
    const cpu = await create(onCpu, linux(false), 'cpu');
    expect(cpu.execution).toMatchObject({ device: 'cpu', maxPoolGrad: 'argmax' });
    expect(hasMaxUnpool(onCpu.created[0]!.model)).toBe(true);

    // auto on Windows without CUDA: DirectML. The recorder runs the graph on this machine's CPU.
    const asDml = new RecordingRuntime(onnxruntime('node'), 'cpu');
    const dml = await create(asDml, WINDOWS);
    expect(dml.execution).toMatchObject({ device: 'dml', maxPoolGrad: 'mask', convAlgorithm: 'direct' });
    expect(asDml.created[0]!.plan.devices).toEqual(['dml', 'cpu']);
    expect(hasMaxUnpool(asDml.created[0]!.model)).toBe(false);
    expect(dml.objective.convAlgorithm).toBe('direct');
    // The same loss either way (the mask differs from the argmax only on exact ties).
    const x = noiseImage(size.width, size.height, 5).data;
    const a = await cpu.objective.evaluate(x, new Float32Array(x.length));
    const b = await dml.objective.evaluate(x, new Float32Array(x.length));
    expect(b.total / a.total).toBeCloseTo(1, 4);
  });
});

describe('onnxruntime-node behind the interface: fallback to the CPU, with the reason', () => {
  const model = buildFeatureGraph({ width: 8, height: 8, styleLayers: ['block1_conv1'], contentLayers: [], pool: 'max', weights: randomVgg19Weights({ seed: 1, channelScale: 1 / 16, depth: 1 }) }).model;
  const shape: RunShape = { width: 8, height: 8, styleLayers: ['block1_conv1'], contentLayers: [], pool: 'max' };
  const open = async (execution: { runtime: Runtime; session: SessionPlan }): Promise<{ device: Device; fallbackReason: string | null }> => {
    const session = await execution.runtime.create(model, execution.session);
    await session.dispose();
    return { device: session.device, fallbackReason: session.fallbackReason };
  };

  it('an explicit provider that cannot start falls back to the CPU and says why', async () => {
    // No CUDA libraries here: onnxruntime-node cannot register the CUDA provider.
    const execution = resolveExecution({ device: 'cuda' }, shape, { platform: linux(false) });
    const opened = await open(execution);
    if (opened.device === 'cuda') return; // a machine with CUDA: nothing to fall back from
    expect(opened).toEqual({ device: 'cpu', fallbackReason: expect.stringMatching(/^cuda unavailable \(.+\)$/) });
  });

  it("auto moves on quietly until it lands on the CPU, then gives every reason (skipped providers' too)", async () => {
    expect(await open(resolveExecution({}, shape, { platform: linux(false) }))).toEqual({ device: 'cpu', fallbackReason: "cuda libraries not installed (onnxruntime-node's install step fetches them)" });
    expect(await open(resolveExecution({ device: 'cpu' }, shape))).toEqual({ device: 'cpu', fallbackReason: null });
  });
});
