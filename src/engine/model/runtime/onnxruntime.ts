// One onnxruntime session: execution-provider choice with fallback to CPU, typed feeds/fetches, dispose.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { NstError } from '../../errors.js';
import { DEVICES, type DeviceRequest } from '../../settings.js';

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
    // onnxruntime logs a provider that fails to load as a coloured native error before we can report it in
    // one line ourselves (fallbackReason); keep its global log to fatal errors.
    mod = mod.then((m) => {
      const env = m.env as { logLevel?: string };
      if (backend === 'node') env.logLevel = 'fatal';
      return m;
    });
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

/**
 * Why `auto` should not even try `device` here, or null. onnxruntime-node ships CUDA support as separate
 * libraries that its install step fetches; trying without them only prints a native error.
 */
export function autoSkipReason(device: Device, bindingDir: string | null = nativeBindingDir()): string | null {
  if (device !== 'cuda' || !bindingDir) return null;
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(path.join(bindingDir, lib)) ? null : 'cuda libraries not installed (onnxruntime-node\'s install step fetches them)';
}

function nativeBindingDir(): string | null {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    return path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
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
    /**
     * onnxruntime-web (1.30) binds a preallocated CPU output to a copy in the wasm heap and never copies the
     * result back, so the caller's tensor stays zero (microsoft/onnxruntime#25786); there, outputs are
     * fetched by name and copied in.
     */
    private readonly copiesIntoFetches = false,
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
      // The web package's 'wasm' provider is its CPU path; 'webgpu' only exists in a browser with WebGPU
      // (under Node, onnxruntime-web 1.30 has no webgpu backend: it falls back to wasm, with the reason).
      const create = (device: Device): Promise<InferenceSession> =>
        ort.InferenceSession.create(model, { executionProviders: [device], graphOptimizationLevel: options.optimization ?? 'all' });
      if (request === 'webgpu') {
        try {
          return new GraphSession(await create('webgpu'), ort, 'webgpu', null, true);
        } catch (error) {
          return new GraphSession(await create('wasm'), ort, 'wasm', `webgpu unavailable (${summariseOrtError(error)})`, true);
        }
      }
      const reason = request !== 'auto' && request !== 'cpu' ? `${request} is not available in the WebAssembly runtime` : null;
      return new GraphSession(await create('wasm'), ort, 'wasm', reason, true);
    }

    const candidates: Device[] = request === 'auto' ? autoDeviceOrder() : [request as Device];
    if (!candidates.includes('cpu')) candidates.push('cpu');
    const failures: string[] = [];
    for (const device of candidates) {
      const skip = request === 'auto' ? autoSkipReason(device) : null;
      if (skip) {
        failures.push(skip);
        continue;
      }
      try {
        const session = await ort.InferenceSession.create(model, {
          executionProviders: [providerConfig(device)],
          graphOptimizationLevel: options.optimization ?? 'all',
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          // A provider that cannot start is reported through fallbackReason, not as native log noise.
          logSeverityLevel: device === 'cpu' ? 3 : 4,
        });
        const reason = failures.length > 0 && (request !== 'auto' || device === 'cpu') ? failures.join('; ') : null;
        return new GraphSession(session, ort, device, reason);
      } catch (error) {
        failures.push(`${device} unavailable (${summariseOrtError(error)})`);
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
   * onnxruntime writes into (no allocation per run; on the web backend, one copy into them per run).
   */
  async run(feeds: Record<string, Tensor>, fetches?: readonly string[] | Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new NstError('RUNTIME_FAILURE', 'The session was already disposed.');
    for (const name of this.session.inputNames) {
      if (!(name in feeds)) throw new TypeError(`Missing feed "${name}".`);
    }
    try {
      if (fetches && !Array.isArray(fetches) && this.copiesIntoFetches) {
        return await this.runCopyingInto(feeds, fetches as Record<string, Tensor>);
      }
      const result = fetches
        ? await this.session.run(feeds, fetches as InferenceSession.FetchesType)
        : await this.session.run(feeds);
      return result as Record<string, Tensor>;
    } catch (error) {
      throw new NstError('RUNTIME_FAILURE', `onnxruntime (${this.device}) failed: ${summariseOrtError(error)}`, { cause: error });
    }
  }

  private async runCopyingInto(feeds: Record<string, Tensor>, fetches: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const result = await this.session.run(feeds, Object.keys(fetches));
    for (const [name, target] of Object.entries(fetches)) {
      const source = result[name]!;
      if (source.type !== target.type || source.size !== target.size) {
        throw new TypeError(`Fetch "${name}" holds ${target.type}[${target.dims.join(', ')}] but the output is ${source.type}[${source.dims.join(', ')}].`);
      }
      (target.data as Float32Array).set(source.data as Float32Array);
    }
    return fetches;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

/**
 * The informative part of an onnxruntime error: its first line without the native source-path prefix
 * ("/onnxruntime_src/…cc:123 Fn() [ONNXRuntimeError] : 1 : FAIL : "), cut at a word boundary.
 */
export function summariseOrtError(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
  const parts = line.split(/\s:\s(?:[A-Z_]+\s:\s)?/);
  const tail = (line.includes('[ONNXRuntimeError]') ? parts[parts.length - 1]! : line).trim();
  if (tail.length <= 240) return tail;
  return `${tail.slice(0, 240).replace(/\s+\S*$/, '')} …`;
}
