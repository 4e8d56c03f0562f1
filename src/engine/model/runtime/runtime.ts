// The runtime as an interface (onnxruntime-common's shape): a session created from model bytes on the first of a
// list of providers that starts, with tensor/run/dispose. onnxruntime.ts implements it; tests may pass their own.

import type { Tensor } from 'onnxruntime-common';
import type { DeviceRequest } from '../../settings.js';
import type { OnnxModel } from '../graph/builder.js';
import type { MaxPoolGrad } from '../graph/vgg-graph.js';

/** An execution provider a session runs on: a request less 'auto', or onnxruntime-web's CPU path. */
export type Device = Exclude<DeviceRequest, 'auto'> | 'wasm';

/** Which onnxruntime package runs the graph: the native binding, or WebAssembly where it cannot load. */
export type RuntimeBackend = 'node' | 'web';

/** onnxruntime's graph optimisation level. */
export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

/** The native CPU and WebAssembly: providers whose tensors live in host memory. */
export function isCpuProvider(device: Device): boolean {
  return device === 'cpu' || device === 'wasm';
}

/** How a session is created: which providers, in which order, with which options (render/execution.ts decides). */
export interface SessionPlan {
  /** Providers to try, best first; the last is the runtime's CPU provider, which is always there. */
  readonly devices: readonly Device[];
  /** Why providers were left out before trying (their libraries are not installed): part of any fallback reason. */
  readonly skipped: readonly string[];
  /** 'auto': moving on to the next provider is expected, so a reason is given only when the CPU runs the graph. */
  readonly quietFallback: boolean;
  /** Intra-op threads (native) or wasm threads; 0 lets onnxruntime decide. */
  readonly threads: number;
  readonly optimization: GraphOptimization;
}

/** One loaded graph. */
export interface RuntimeSession {
  /** The provider that runs it. */
  readonly device: Device;
  /** Why it is not the plan's first provider (one line), or null. */
  readonly fallbackReason: string | null;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** A float32 tensor over `data` (no copy). */
  tensor(data: Float32Array, dims: readonly number[]): Tensor;
  /**
   * Runs the graph. `fetches` may name the outputs wanted, or map output names to preallocated tensors that the
   * runtime writes into (no allocation per run).
   */
  run(feeds: Record<string, Tensor>, fetches?: readonly string[] | Record<string, Tensor>): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
}

export interface Runtime {
  readonly backend: RuntimeBackend;
  /** A session on the first of plan.devices that starts; DEVICE_UNAVAILABLE when none does. */
  create(model: OnnxModel, plan: SessionPlan): Promise<RuntimeSession>;
}

/** What a graph is built and run with, decided once per run size (render/execution.ts resolveExecution). */
export interface Execution {
  readonly runtime: Runtime;
  /** The provider the graph is built for: plan.devices[0]. Should it not start, the CPU runs the same graph. */
  readonly device: Device;
  readonly session: SessionPlan;
  readonly convAlgorithm: 'direct' | 'winograd';
  readonly maxPoolGrad: MaxPoolGrad;
}

/**
 * The plan for a further session of the same run on `device` (default: the CPU provider), then the CPU: a forward
 * graph for the targets beside the loss graph's session. Nothing skipped, nothing quiet, as for an explicit request.
 */
export function planOn(plan: SessionPlan, device: Device = plan.devices[plan.devices.length - 1]!): SessionPlan {
  const cpu = plan.devices[plan.devices.length - 1]!;
  return { ...plan, devices: device === cpu ? [cpu] : [device, cpu], skipped: [], quietFallback: false };
}
