// onnxruntime-node and onnxruntime-web behind the Runtime interface: the plan's providers tried in order (the
// reason said in one line), typed feeds and fetches, dispose.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { NstError } from '../../errors.js';
import { GraphBuilder, type OnnxModel } from '../graph/builder.js';
import { canSpawnNodeChild, runInOrtChild, turnOffOnnxruntimeTelemetry, vulkanQuietEnv } from './ort-child.js';
import type { Device, Runtime, RuntimeBackend, RuntimeSession, SessionPlan } from './runtime.js';
import { summariseOrtError } from './ort-error.js';

/** The subset of onnxruntime's module API this wrapper needs; onnxruntime-node and -web both provide it. */
interface OrtModule {
  readonly InferenceSession: { create(bytes: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: typeof Tensor;
  readonly env: { wasm?: { numThreads?: number } };
}

const ortModules = new Map<RuntimeBackend, Promise<OrtModule>>();

/** Loads onnxruntime lazily so that `web` never needs the native addon and `node` never loads wasm. */
function loadOrt(backend: RuntimeBackend): Promise<OrtModule> {
  let mod = ortModules.get(backend);
  if (!mod) {
    if (backend === 'node') turnOffOnnxruntimeTelemetry();
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

/**
 * Whether onnxruntime-node's CUDA provider libraries are installed: it ships them separately (its install step
 * fetches them), and trying CUDA without them only prints a native error.
 */
export function cudaLibrariesInstalled(bindingDir: string | null = nativeBindingDir()): boolean {
  if (!bindingDir) return false;
  return existsSync(path.join(bindingDir, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
}

/** onnxruntime-node's version (its package.json), without loading the native addon; 'unknown' when not found. */
export function onnxruntimeVersion(): string {
  const entry = onnxruntimeEntry();
  if (!entry) return 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function nativeBindingDir(): string | null {
  const entry = onnxruntimeEntry();
  return entry && path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** Where onnxruntime-node's entry module is (resolved once: every run's execution is decided from it), or null. */
let entry: string | null | undefined;
function onnxruntimeEntry(): string | null {
  if (entry === undefined) {
    try {
      entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    } catch {
      entry = null;
    }
  }
  return entry;
}

const runtimes = new Map<RuntimeBackend, Runtime>();

/** onnxruntime-node ('node') or onnxruntime-web's WebAssembly/WebGPU ('web'), one instance per backend. */
export function onnxruntime(backend: RuntimeBackend = 'node'): Runtime {
  let runtime = runtimes.get(backend);
  if (!runtime) runtimes.set(backend, (runtime = new OrtRuntime(backend)));
  return runtime;
}

class OrtRuntime implements Runtime {
  constructor(readonly backend: RuntimeBackend) {}

  async create(model: OnnxModel, plan: SessionPlan): Promise<RuntimeSession> {
    const ort = await loadOrt(this.backend);
    const options = (device: Device): InferenceSession.SessionOptions =>
      this.backend === 'web'
        ? // The web package's 'wasm' provider is its CPU path; 'webgpu' only exists in a browser with WebGPU (under
          // Node, onnxruntime-web 1.30 has no webgpu backend: the plan falls back to wasm, with the reason).
          { executionProviders: [device], graphOptimizationLevel: plan.optimization, externalData: [...model.external] }
        : {
            // The weights, outside the protobuf (graph/builder.ts toModel).
            externalData: [...model.external],
            executionProviders: [device],
            graphOptimizationLevel: plan.optimization,
            intraOpNumThreads: plan.threads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            // A provider that cannot start is reported through fallbackReason, not as native log noise.
            logSeverityLevel: device === 'cpu' ? 3 : 4,
            // With memory patterns the CPU arena keeps the first run's tensors AND one planned block for later runs:
            // every activation twice (256 px: 776 → 605 MB resident, 512 px: 1488 → 1022 MB, CPU time per iteration
            // unchanged; docs/memory.md). DirectML needs it off anyway.
            enableMemPattern: false,
          };
    if (this.backend === 'web' && ort.env.wasm && plan.threads > 0) ort.env.wasm.numThreads = plan.threads;
    const failures = [...plan.skipped];
    const last = plan.devices[plan.devices.length - 1];
    for (const device of plan.devices) {
      const notHere = this.backend === 'node' && device === 'webgpu' ? await webgpuPreflight() : null;
      if (notHere) {
        failures.push(`webgpu unavailable (${notHere})`);
        continue;
      }
      try {
        const session = await ort.InferenceSession.create(model.bytes, options(device));
        const reason = failures.length > 0 && (!plan.quietFallback || device === last) ? failures.join('; ') : null;
        return new OrtSession(session, ort, device, reason, this.backend === 'web');
      } catch (error) {
        failures.push(`${device} unavailable (${summariseOrtError(error)})`);
      }
    }
    throw new NstError('DEVICE_UNAVAILABLE', `No execution provider could run the graph: ${failures.join('; ')}.`);
  }
}

let webgpuChecked: Promise<string | null> | null = null;

/**
 * Why WebGPU cannot start in this process, or null. Without a usable adapter Dawn writes its errors straight to
 * stderr, past onnxruntime's log level, so the first WebGPU session of a process is tried in a child whose stderr is
 * kept (once per process: the adapters do not change under it). In the studio no child can be spawned: there it is
 * tried in-process, where stderr is no one's terminal.
 */
function webgpuPreflight(): Promise<string | null> {
  if (!canSpawnNodeChild()) return Promise.resolve(null);
  webgpuChecked ??= (async () => {
    const g = new GraphBuilder('webgpu_probe');
    const x = g.input('x', [1, 3, 8, 8]);
    g.output(g.node('Relu', [x], {}, { shape: x.shape }), 'y');
    const result = await runInOrtChild(g.toModel(), { device: 'webgpu', feeds: [{ name: 'x', dims: x.shape, value: 'pixels' }], warmups: 1, runs: 0, threads: 1 }, { timeoutMs: 60_000 });
    if (!result.ok) return result.reason;
    // The same drivers start again in this process: keep their one complaint about a missing login session quiet.
    Object.assign(process.env, vulkanQuietEnv(process.env));
    return null;
  })();
  return webgpuChecked;
}

class OrtSession implements RuntimeSession {
  private disposed = false;

  constructor(
    private readonly session: InferenceSession,
    private readonly ort: OrtModule,
    readonly device: Device,
    readonly fallbackReason: string | null,
    /**
     * onnxruntime-web (1.30) binds a preallocated CPU output to a copy in the wasm heap and never copies the
     * result back, so the caller's tensor stays zero (microsoft/onnxruntime#25786); there, outputs are
     * fetched by name and copied in.
     */
    private readonly copiesIntoFetches: boolean,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  tensor(data: Float32Array, dims: readonly number[]): Tensor {
    return new this.ort.Tensor('float32', data, dims);
  }

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
