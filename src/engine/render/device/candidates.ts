// The providers `auto` may choose on this machine, each with the adapter it would run on and, where auto leaves it
// out without trying, why; and the key a measured verdict is cached under (invalidated when any of it changes).

import type { Device } from '../../model/runtime/runtime.js';
import { cudaLibrariesInstalled } from '../../model/runtime/onnxruntime.js';
import { cpuName, gpuAdapters, webgpuAdapter, type GpuAdapter } from './adapters.js';

/** The providers onnxruntime-node has (wasm is onnxruntime-web's). */
export type NativeDevice = Exclude<Device, 'wasm'>;

export interface DeviceCandidate {
  readonly device: NativeDevice;
  /** What it runs on: the CPU's name, a GPU's, or a software adapter's; null when there is none. */
  readonly adapter: string | null;
  readonly driver: string | null;
  readonly software: boolean;
  /** Why auto does not try it (libraries missing, no adapter, a software adapter), or null when it is measured. */
  readonly excluded: string | null;
}

/** What the candidates are drawn from; tests pass their own. */
export interface CandidateProbe {
  readonly os: NodeJS.Platform;
  readonly cudaLibraries: boolean;
  readonly gpus: readonly GpuAdapter[];
  /** The adapter WebGPU would start on (adapters.ts webgpuAdapter), or null. */
  readonly webgpu: GpuAdapter | null;
  readonly cpu: string;
  /** Measure a software WebGPU adapter too (NST_DEVICES_INCLUDE_SOFTWARE=1): tests, and the curious. */
  readonly includeSoftware: boolean;
}

export function hostCandidateProbe(env: NodeJS.ProcessEnv = process.env): CandidateProbe {
  const gpus = gpuAdapters();
  return {
    os: process.platform,
    cudaLibraries: cudaLibrariesInstalled(),
    gpus,
    webgpu: webgpuAdapter(gpus, env),
    cpu: cpuName(),
    includeSoftware: env.NST_DEVICES_INCLUDE_SOFTWARE === '1',
  };
}

/** Why CUDA cannot run without measuring: onnxruntime-node's install step fetches its provider libraries separately. */
export const CUDA_LIBRARIES_MISSING = "libraries not installed (onnxruntime-node's install step fetches them)";

/** Every provider onnxruntime-node has on `os`, in the order that breaks a tie (GPUs before the CPU). */
export function platformDevices(os: NodeJS.Platform): NativeDevice[] {
  if (os === 'win32') return ['cuda', 'dml', 'webgpu', 'cpu'];
  if (os === 'darwin') return ['coreml', 'webgpu', 'cpu'];
  return ['cuda', 'webgpu', 'cpu'];
}

export function deviceCandidates(probe: CandidateProbe = hostCandidateProbe()): DeviceCandidate[] {
  const hardware = probe.gpus.find((g) => !g.software) ?? null;
  const nvidia = probe.gpus.find((g) => g.vendor === 'NVIDIA') ?? null;
  const on = (adapter: GpuAdapter | null, excluded: string | null): Omit<DeviceCandidate, 'device'> => ({
    adapter: adapter?.name ?? null,
    driver: adapter?.driver ?? null,
    software: adapter?.software ?? false,
    excluded,
  });
  return platformDevices(probe.os).map((device): DeviceCandidate => {
    switch (device) {
      case 'cpu':
        return { device, adapter: probe.cpu, driver: null, software: false, excluded: null };
      case 'cuda':
        return { device, ...on(nvidia, probe.cudaLibraries ? null : CUDA_LIBRARIES_MISSING) };
      case 'dml':
        return { device, ...on(hardware, hardware ? null : 'no hardware GPU (DirectML would run on WARP, the CPU)') };
      case 'webgpu': {
        const adapter = probe.webgpu;
        if (!adapter) return { device, ...on(null, 'no WebGPU adapter (no GPU found)') };
        const software = adapter.software && !probe.includeSoftware ? `a software adapter, slower than the CPU provider (NST_DEVICES_INCLUDE_SOFTWARE=1 measures it)` : null;
        return { device, ...on(adapter, software) };
      }
      default:
        return { device, ...on(hardware, null) };
    }
  });
}

/** What a verdict holds for: change any of it (onnxruntime, a driver, an adapter, the set tried) and it is measured again. */
export interface VerdictKey {
  readonly onnxruntime: string;
  readonly platform: string;
  /** "device | adapter | driver" for each candidate measured. */
  readonly candidates: readonly string[];
}

export function verdictKey(candidates: readonly DeviceCandidate[], onnxruntimeVersion: string): VerdictKey {
  const tried = candidates.filter((c) => c.excluded === null);
  return {
    onnxruntime: onnxruntimeVersion,
    platform: `${process.platform}-${process.arch}`,
    candidates: tried.map((c) => [c.device, c.adapter ?? '-', c.driver ?? '-'].join(' | ')),
  };
}
