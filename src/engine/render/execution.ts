// Execution decided once: from a run's settings, the machine and the run's size, the providers its sessions are
// created on, its convolution algorithm, its max-pool gradient and its session options. The objective, the memory
// estimate, the render plan, tiles and bench receive the result; none of them decides again.

import { CONV_ALGORITHMS, DEVICES, type ConvAlgorithm, type DeviceRequest } from '../settings.js';
import { NstError } from '../errors.js';
import { isCpuProvider, type Device, type Execution, type Runtime, type RuntimeBackend, type SessionPlan } from '../model/runtime/runtime.js';
import { cudaLibrariesInstalled, onnxruntime } from '../model/runtime/onnxruntime.js';
import type { MaxPoolGrad } from '../model/graph/vgg-graph.js';
import { estimateMemory, type RunShape } from './memory.js';
import { autoDecision, type AutoDecision } from './device/verdict.js';
import { CUDA_LIBRARIES_MISSING, platformDevices } from './device/candidates.js';

/**
 * 'auto' takes Winograd on the CPU only while an L-BFGS run's estimate with it stays within this: its transformed
 * kernels add memory at every size (docs/memory.md), which takes an L-BFGS run over 2 GB from about 700 px.
 */
export const WINOGRAD_AUTO_MAX_BYTES = 2 * 2 ** 30;

/**
 * Below this longest side 'auto' keeps Conv on the CPU: Winograd's transformed kernels cost 6–8 s of setup and
 * ~0.4 GB, which its faster iterations repay only from about 300 px in a run the adaptive stop ends
 * (docs/performance.md, "Winograd convolutions").
 */
export const WINOGRAD_AUTO_MIN_PX = 320;

/** What a run asks for (RunSettings' execution fields). */
export interface ExecutionRequest {
  /** Default 'auto'. */
  readonly device?: DeviceRequest;
  /** Default 'auto'. */
  readonly convAlgorithm?: ConvAlgorithm;
  /** Intra-op (native) or wasm threads; 0 (the default) lets onnxruntime decide. */
  readonly threads?: number;
  /** Default 'node'; ignored when ExecutionOptions.runtime is given (that runtime's backend counts). */
  readonly backend?: RuntimeBackend;
}

/** What `auto` knows of a machine. */
export interface PlatformProbe {
  readonly os: NodeJS.Platform;
  /** Whether onnxruntime-node's CUDA provider libraries are installed (its install step fetches them separately). */
  readonly cudaLibraries: boolean;
  /** The provider measured fastest here, or the only one there is (render/device/); absent: the platform's order. */
  readonly auto?: AutoDecision | null;
}

export function hostPlatform(): PlatformProbe {
  return { os: process.platform, cudaLibraries: cudaLibrariesInstalled(), auto: autoDecision() };
}

/**
 * The order `auto` tries on `os`, best first, until a measurement (render/device/settle.ts) says which is fastest
 * here. WebGPU is not in it: on a machine without a GPU it can land on a software adapter far slower than the CPU.
 */
export function autoDeviceOrder(os: NodeJS.Platform = process.platform): Device[] {
  return platformDevices(os).filter((device) => device !== 'webgpu');
}

/** Why `auto` should not even try `device` on this machine, or null: trying CUDA without its libraries only prints a native error. */
export function autoSkipReason(device: Device, platform: Pick<PlatformProbe, 'cudaLibraries'> = hostPlatform()): string | null {
  return device === 'cuda' && !platform.cudaLibraries ? `cuda ${CUDA_LIBRARIES_MISSING}` : null;
}

/**
 * Why the conv algorithm is what it is: as requested; Conv on a GPU provider; 'auto''s size rule on the CPU; or the
 * render's memory limit, under which every stage of the render runs with Conv.
 */
export type ConvReason = 'requested' | 'provider' | 'size' | 'memory-limit';

export interface ResolvedExecution extends Execution {
  readonly convReason: ConvReason;
}

export interface ExecutionOptions {
  /** The runtime sessions are created with; default onnxruntime (request.backend's package). Tests pass their own. */
  readonly runtime?: Runtime;
  /** The machine `auto` chooses for; default this one. */
  readonly platform?: PlatformProbe;
  /** A render's memory limit, `shape` being the whole render's: 'auto' convs take Conv when it does not fit in it. */
  readonly memoryLimitBytes?: number;
}

/**
 * The execution of a run of `shape`: the providers to try (the graph is built for the first), the conv algorithm,
 * the max-pool gradient that provider supports, and the session options. BAD_ARGUMENT for an unknown device or
 * conv algorithm, or threads out of range.
 */
export function resolveExecution(request: ExecutionRequest, shape: RunShape, options: ExecutionOptions = {}): ResolvedExecution {
  const threads = request.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0 || threads > 256) {
    throw new NstError('BAD_ARGUMENT', `threads must be a whole number from 0 to 256, got ${threads}.`);
  }
  const runtime = options.runtime ?? onnxruntime(request.backend ?? 'node');
  const providers = providerPlan(checkedChoice('device', request.device ?? 'auto', DEVICES), runtime.backend, options.platform);
  const session: SessionPlan = { ...providers, threads, optimization: 'all' };
  const device = session.devices[0]!;
  // WebGPU, DirectML and CoreML lack MaxPool's indices output; the CPU (native or wasm) and CUDA have it.
  const maxPoolGrad: MaxPoolGrad = device === 'webgpu' || device === 'dml' || device === 'coreml' ? 'mask' : 'argmax';
  const conv = convFor(checkedChoice('convAlgorithm', request.convAlgorithm ?? 'auto', CONV_ALGORITHMS), device, maxPoolGrad, shape, options.memoryLimitBytes);
  return { runtime, device, session, maxPoolGrad, ...conv };
}

function checkedChoice<T extends string>(label: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new NstError('BAD_ARGUMENT', label === 'device' ? `Unknown device "${value}": use one of ${choices.join(', ')}.` : `${label} must be ${choices.join(', ')}, got "${value}".`);
}

/** The providers a request tries with `backend`, in order, the CPU provider last. */
function providerPlan(request: DeviceRequest, backend: RuntimeBackend, platform: PlatformProbe | undefined): Pick<SessionPlan, 'devices' | 'skipped' | 'quietFallback'> {
  if (backend === 'web') {
    // onnxruntime-web has WebGPU (in a browser that offers it) and wasm, its CPU path.
    if (request === 'webgpu') return { devices: ['webgpu', 'wasm'], skipped: [], quietFallback: false };
    const skipped = request === 'auto' || request === 'cpu' ? [] : [`${request} is not available in the WebAssembly runtime`];
    return { devices: ['wasm'], skipped, quietFallback: false };
  }
  if (request !== 'auto') return { devices: request === 'cpu' ? ['cpu'] : [request, 'cpu'], skipped: [], quietFallback: false };
  const probe = platform ?? hostPlatform();
  if (probe.auto) return { devices: probe.auto.device === 'cpu' ? ['cpu'] : [probe.auto.device, 'cpu'], skipped: [], quietFallback: true };
  const order = autoDeviceOrder(probe.os);
  const skipped = order.map((d) => autoSkipReason(d, probe)).filter((reason): reason is string => reason !== null);
  return { devices: order.filter((d) => autoSkipReason(d, probe) === null), skipped, quietFallback: true };
}

function convFor(request: ConvAlgorithm, device: Device, maxPoolGrad: MaxPoolGrad, shape: RunShape, limitBytes: number | undefined): { convAlgorithm: 'direct' | 'winograd'; convReason: ConvReason } {
  if (request !== 'auto') return { convAlgorithm: request, convReason: 'requested' };
  // Winograd was measured faster on the CPU providers (docs/performance.md); a GPU's Conv is cuDNN's, DirectML's or
  // Metal's, and the transforms would only add memory traffic.
  if (!isCpuProvider(device)) return { convAlgorithm: 'direct', convReason: 'provider' };
  if (Math.max(shape.width, shape.height) < WINOGRAD_AUTO_MIN_PX) return { convAlgorithm: 'direct', convReason: 'size' };
  const bytes = (convAlgorithm: 'direct' | 'winograd', costed: RunShape): number => estimateMemory({ ...costed, device, convAlgorithm, maxPoolGrad }).totalBytes;
  // Costed as an L-BFGS run (the default, and the largest) whatever the optimizer: a graph does not depend on it,
  // so `nst loss` (which has none) evaluates the graph that stylize runs.
  const sized = bytes('winograd', { ...shape, optimizer: 'lbfgs', lbfgsHistory: undefined }) <= WINOGRAD_AUTO_MAX_BYTES ? 'winograd' : 'direct';
  // A render over its limit with that choice is tiled or optimised smaller, every stage with Conv: its kernels are a
  // quarter of Winograd's (~0.5 GB less), so tiles and sizes are larger.
  if (limitBytes !== undefined && bytes(sized, shape) > limitBytes) return { convAlgorithm: 'direct', convReason: 'memory-limit' };
  return { convAlgorithm: sized, convReason: 'size' };
}

/**
 * The shape resolveExecution costs for an objective over these images: the output's size and layers, and the style
 * images held at their own sizes (none where their Grams are given), counted as one image of their total size.
 */
export function objectiveShape(
  size: { readonly width: number; readonly height: number },
  layers: Pick<RunShape, 'styleLayers' | 'contentLayers' | 'pool'>,
  styles: readonly { readonly width: number; readonly height: number }[],
): RunShape {
  const { width, height } = size;
  const stylePixels = styles.reduce((n, s) => n + s.width * s.height, 0);
  return { width, height, styleLayers: layers.styleLayers, contentLayers: layers.contentLayers, pool: layers.pool, styleImages: 1, styleScale: Math.sqrt(stylePixels / (width * height)) };
}
