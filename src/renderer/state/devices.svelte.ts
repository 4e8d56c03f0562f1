// The machine's devices as the host reports them (getDevices): what Automatic runs on and why, and what each device
// runs on (the GPU's name, the CPU's), for the top bar and the Device parameter.

import type { DevicesInfo, StudioApi } from '../../shared/api.js';

export const PROVIDER_NAMES: Record<string, string> = { auto: 'Automatic', cpu: 'CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'Core ML', webgpu: 'WebGPU', wasm: 'WebAssembly' };

export class DevicesState {
  info = $state.raw<DevicesInfo | null>(null);

  constructor(private readonly api: StudioApi) {}

  /** Again after a run starts: an Automatic run measures the devices the first time. */
  async refresh(): Promise<void> {
    const result = await this.api.getDevices();
    // Only names and timings are missing without it: the badge and the select still show the providers.
    if (result.ok) this.info = result.value;
  }

  /** The device a request lands on: the pinned one, or what Automatic chose here. */
  resolve(requested: string): string {
    return requested === 'auto' ? (this.info?.auto.device ?? 'auto') : requested;
  }

  /** What `device` runs on, as a person says it: "NVIDIA GeForce RTX 4070", "AMD EPYC 7B13 (16 threads)". */
  adapterOf(device: string): string | null {
    return this.info?.devices.find((d) => d.device === device)?.adapter ?? null;
  }

  /** Why a request runs where it does, in a line (the top bar's tooltip). */
  why(requested: string): string | null {
    if (!this.info) return null;
    return requested === 'auto' ? `Automatic: ${PROVIDER_NAMES[this.info.auto.device] ?? this.info.auto.device}, ${this.info.auto.reason}` : `Pinned in Parameters: every run uses ${PROVIDER_NAMES[requested] ?? requested}`;
  }
}
