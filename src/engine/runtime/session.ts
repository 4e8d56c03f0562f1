// One onnxruntime session: execution-provider choice with fallback to CPU, typed feeds/fetches, dispose.

import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { NstError } from '../errors.js';

export const DEVICES = ['auto', 'cpu', 'cuda', 'dml', 'webgpu', 'coreml'] as const;
export type DeviceRequest = (typeof DEVICES)[number];
export type Device = Exclude<DeviceRequest, 'auto'> | 'wasm';

/** Which onnxruntime package runs the graph: the native binding, or WebAssembly where it cannot load. */
export type RuntimeBackend = 'node' | 'web';

export interface SessionOptions {
  readonly device?: DeviceRequest;
  /** Intra-op threads (native) or wasm threads; 0 or undefined lets onnxruntime decide. */
  readonly threads?: number;
  readonly backend?: RuntimeBackend;
  /** onnxruntime graph optimisation level; 'all' unless debugging the runtime itself. */
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** The subset of onnxruntime's module API this wrapper needs; onnxruntime-node and -web both provide it. */
interface OrtModule {
  readonly InferenceSession: { create(bytes: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: typeof Tensor;
  readonly env: { wasm?: { numThreads?: number } };
}

const ortModules = new Map<RuntimeBackend, Promise<OrtModule>>();

/** Loads onnxruntime lazily so that `web` never needs the native addon and `node` never loads wasm. */
export function loadOrt(backend: RuntimeBackend): Promise<OrtModule> {
  let mod = ortModules.get(backend);
  if (!mod) {
    mod = (backend === 'node' ? import('onnxruntime-node') : import('onnxruntime-web')) as unknown as Promise<OrtModule>;
    mod = mod.then((m) => ((m as unknown as { default?: OrtModule }).default?.InferenceSession ? (m as unknown as { default: OrtModule }).default : m));
    ortModules.set(backend, mod);
  }
  return mod;
}

/** The order `auto` tries, best first, for this platform. WebGPU is opt-in: on a machine without a GPU it
 * can land on a software adapter that is far slower than the CPU provider. */
export function autoDeviceOrder(platform: NodeJS.Platform = process.platform): Device[] {
  if (platform === 'win32') return ['cuda', 'dml', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'cpu'];
  return ['cuda', 'cpu'];
}

function providerConfig(device: Device): InferenceSession.ExecutionProviderConfig {
  return device;
}

export class GraphSession {
  private disposed = false;

  private constructor(
    private readonly session: InferenceSession,
    private readonly ort: OrtModule,
    readonly device: Device,
    /** Why the requested device was not used, when it was not (one line). */
    readonly fallbackReason: string | null,
  ) {}

  static async create(model: Uint8Array, options: SessionOptions = {}): Promise<GraphSession> {
    const backend = options.backend ?? 'node';
    const request = options.device ?? 'auto';
    if (!(DEVICES as readonly string[]).includes(request)) {
      throw new NstError('BAD_ARGUMENT', `Unknown device "${request}": use one of ${DEVICES.join(', ')}.`);
    }
    const threads = options.threads ?? 0;
    if (!Number.isInteger(threads) || threads < 0 || threads > 256) {
      throw new NstError('BAD_ARGUMENT', `threads must be a whole number from 0 to 256, got ${threads}.`);
    }
    const ort = await loadOrt(backend);
    if (backend === 'web') {
      if (ort.env.wasm && threads > 0) ort.env.wasm.numThreads = threads;
      // The web package's 'wasm' provider is its CPU path; 'webgpu' only exists in a browser with WebGPU.
      const device: Device = request === 'webgpu' ? 'webgpu' : 'wasm';
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [device],
        graphOptimizationLevel: options.optimization ?? 'all',
      });
      const reason = request !== 'auto' && request !== 'cpu' && request !== device ? `${request} is not available in the WebAssembly runtime` : null;
      return new GraphSession(session, ort, device, reason);
    }

    const candidates: Device[] = request === 'auto' ? autoDeviceOrder() : [request as Device];
    if (!candidates.includes('cpu')) candidates.push('cpu');
    const failures: string[] = [];
    for (const device of candidates) {
      try {
        const session = await ort.InferenceSession.create(model, {
          executionProviders: [providerConfig(device)],
          graphOptimizationLevel: options.optimization ?? 'all',
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
        });
        const reason = failures.length > 0 && (request !== 'auto' || device === 'cpu') ? failures.join('; ') : null;
        return new GraphSession(session, ort, device, reason);
      } catch (error) {
        failures.push(`${device} unavailable (${firstLine(error)})`);
      }
    }
    throw new NstError('DEVICE_UNAVAILABLE', `No execution provider could run the graph: ${failures.join('; ')}.`);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** A float32 tensor over `data` (no copy). */
  tensor(data: Float32Array, dims: readonly number[]): Tensor {
    return new this.ort.Tensor('float32', data, dims);
  }

  /**
   * Runs the graph. `fetches` may name the outputs wanted, or map output names to preallocated tensors that
   * onnxruntime writes into (no allocation per run).
   */
  async run(feeds: Record<string, Tensor>, fetches?: readonly string[] | Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new NstError('RUNTIME_FAILURE', 'The session was already disposed.');
    for (const name of this.session.inputNames) {
      if (!(name in feeds)) throw new TypeError(`Missing feed "${name}".`);
    }
    try {
      const result = fetches
        ? await this.session.run(feeds, fetches as InferenceSession.FetchesType)
        : await this.session.run(feeds);
      return result as Record<string, Tensor>;
    } catch (error) {
      throw new NstError('RUNTIME_FAILURE', `onnxruntime (${this.device}) failed: ${firstLine(error)}`, { cause: error });
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.slice(0, 300);
}
