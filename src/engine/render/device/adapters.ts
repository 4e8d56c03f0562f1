// This machine's GPUs as the operating system names them (name, vendor, driver), and the adapter WebGPU would start
// on: a hardware GPU, or a software Vulkan driver (SwiftShader, lavapipe) that is far slower than the CPU provider.
// onnxruntime-node does not expose Dawn's adapter info, so this is read from the OS: sysfs on Linux, the registry on
// Windows, sysctl on macOS. Synchronous and cheap, so resolveExecution can key its cached verdict on it.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface GpuAdapter {
  /** As a person would say it: "NVIDIA H100 80GB HBM3", "SwiftShader (software Vulkan)". */
  readonly name: string;
  readonly vendor: string;
  /** The driver's version, or what stands for it (the kernel's release); null when unknown. */
  readonly driver: string | null;
  /** A CPU pretending to be a GPU: SwiftShader, lavapipe/llvmpipe, WARP. */
  readonly software: boolean;
}

/** Where the facts come from; tests pass a fake root and command runner. */
export interface AdapterSources {
  readonly platform: NodeJS.Platform;
  readonly env: NodeJS.ProcessEnv;
  /** Prefix for /sys, /proc and /usr/share (Linux). */
  readonly root: string;
  /** Runs a command and returns its stdout, or null when it fails. */
  readonly run: (command: string, args: readonly string[]) => string | null;
  readonly osRelease: string;
}

function hostSources(): AdapterSources {
  const run = (command: string, args: readonly string[]): string | null => {
    try {
      return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000, windowsHide: true });
    } catch {
      return null;
    }
  };
  return { platform: process.platform, env: process.env, root: '/', run, osRelease: os.release() };
}

/** PCI vendors that make GPUs; a server's BMC (ASPEED, Matrox) or a VM's virtual display is a display controller too, not a GPU. */
const GPU_VENDORS: Record<string, string> = { '10de': 'NVIDIA', '1002': 'AMD', '8086': 'Intel', '5143': 'Qualcomm', '13b5': 'ARM', '1010': 'Imagination' };
const SOFTWARE_VULKAN = /swiftshader|lvp|lavapipe|llvmpipe/i;

let hostAdapters: readonly GpuAdapter[] | null = null;

/** The hardware GPUs of this machine, discrete vendors first (read once per process: they do not change under it). */
export function gpuAdapters(sources?: AdapterSources): readonly GpuAdapter[] {
  if (!sources) return (hostAdapters ??= gpuAdapters(hostSources()));
  const found = sources.platform === 'linux' ? linuxGpus(sources) : sources.platform === 'win32' ? windowsGpus(sources) : sources.platform === 'darwin' ? macGpus(sources) : [];
  const rank = (a: GpuAdapter): number => (a.software ? 2 : a.vendor === 'Intel' ? 1 : 0);
  return [...found].sort((a, b) => rank(a) - rank(b));
}

/**
 * The adapter WebGPU (Dawn) would start on, or null when there is none: the first hardware GPU, unless the Vulkan
 * loader is pointed at software drivers only (VK_ICD_FILENAMES / VK_DRIVER_FILES), which is then what Dawn gets.
 */
export function webgpuAdapter(adapters: readonly GpuAdapter[] = gpuAdapters(), env: NodeJS.ProcessEnv = process.env): GpuAdapter | null {
  const icds = (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || '').split(path.delimiter).filter((f) => f !== '');
  if (icds.length > 0 && icds.every((f) => SOFTWARE_VULKAN.test(path.basename(f)))) {
    const which = /swiftshader/i.test(icds[0]!) ? 'SwiftShader' : 'lavapipe';
    return { name: `${which} (software Vulkan)`, vendor: which, driver: path.basename(icds[0]!), software: true };
  }
  return adapters[0] ?? null;
}

/** The CPU as the CPU provider runs on it: "AMD EPYC 7B13 (2 threads)". */
export function cpuName(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() || os.arch()} (${cpus.length} threads)`;
}

function linuxGpus(s: AdapterSources): GpuAdapter[] {
  const pci = path.join(s.root, 'sys/bus/pci/devices');
  const read = (file: string): string | null => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      return null;
    }
  };
  let slots: string[];
  try {
    slots = readdirSync(pci);
  } catch {
    return [];
  }
  const nvidiaDriver = /Kernel Module\s+(?:for\s+\S+\s+)?(\d[\d.]*)/.exec(read(path.join(s.root, 'proc/driver/nvidia/version')) ?? '')?.[1] ?? null;
  const gpus: GpuAdapter[] = [];
  for (const slot of slots.sort()) {
    const dir = path.join(pci, slot);
    const cls = read(path.join(dir, 'class'));
    const vendorId = read(path.join(dir, 'vendor'))?.replace(/^0x/, '').toLowerCase();
    const vendor = vendorId ? GPU_VENDORS[vendorId] : undefined;
    // PCI class 0x03xxxx: display controllers (VGA, 3D, other).
    if (!cls || !cls.startsWith('0x03') || !vendor) continue;
    const deviceId = read(path.join(dir, 'device'))?.replace(/^0x/, '').toLowerCase() ?? '';
    const model = vendor === 'NVIDIA' ? /Model:\s*(.+)/.exec(read(path.join(s.root, 'proc/driver/nvidia/gpus', slot, 'information')) ?? '')?.[1]?.trim() : undefined;
    let kernelDriver: string | null = null;
    try {
      kernelDriver = path.basename(readlinkSync(path.join(dir, 'driver')));
    } catch {
      // no driver bound: the GPU is there but nothing can use it
    }
    gpus.push({
      name: model ?? pciName(s.root, vendor, vendorId!, deviceId) ?? `${vendor} GPU ${deviceId}`,
      vendor,
      driver: vendor === 'NVIDIA' && nvidiaDriver ? nvidiaDriver : kernelDriver ? `${kernelDriver}, Linux ${s.osRelease}` : null,
      software: false,
    });
  }
  return gpus;
}

/** "AMD Navi 21 [Radeon RX 6800]" from the pci.ids database where the system has one. */
function pciName(root: string, vendor: string, vendorId: string, deviceId: string): string | null {
  for (const file of ['usr/share/misc/pci.ids', 'usr/share/hwdata/pci.ids']) {
    let text: string;
    try {
      text = readFileSync(path.join(root, file), 'utf8');
    } catch {
      continue;
    }
    const at = text.search(new RegExp(`^${vendorId}  `, 'm'));
    if (at < 0) return null;
    const block = text.slice(at).split('\n');
    for (const line of block.slice(1)) {
      if (!line.startsWith('\t')) break;
      if (line.startsWith(`\t${deviceId}  `)) return `${vendor} ${line.slice(7).trim()}`;
    }
    return null;
  }
  return null;
}

/** Display adapters from the registry's display class: DriverDesc, ProviderName, DriverVersion per adapter. */
function windowsGpus(s: AdapterSources): GpuAdapter[] {
  const out = s.run('reg', ['query', 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}', '/s']);
  return out === null ? [] : parseWindowsDisplayClass(out);
}

export function parseWindowsDisplayClass(text: string): GpuAdapter[] {
  const gpus: GpuAdapter[] = [];
  for (const block of text.split(/\r?\n(?=HKEY_)/)) {
    const value = (name: string): string | undefined => new RegExp(`^\\s+${name}\\s+REG_SZ\\s+(.+?)\\s*$`, 'm').exec(block)?.[1];
    const name = value('DriverDesc');
    if (!name) continue;
    // The Basic Render Driver is WARP, Direct3D on the CPU.
    const software = /Microsoft Basic (Render|Display)/i.test(name);
    gpus.push({ name, vendor: value('ProviderName') ?? 'unknown', driver: value('DriverVersion') ?? null, software });
  }
  return gpus;
}

/** Apple silicon's GPU is its chip's; an Intel Mac says only that it has a Metal GPU. */
function macGpus(s: AdapterSources): GpuAdapter[] {
  const brand = s.run('sysctl', ['-n', 'machdep.cpu.brand_string'])?.trim() ?? '';
  const apple = brand.startsWith('Apple');
  return [{ name: apple ? `${brand} GPU` : 'Metal GPU', vendor: apple ? 'Apple' : 'unknown', driver: `Darwin ${s.osRelease}`, software: false }];
}
