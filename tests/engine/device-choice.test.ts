// `auto` chooses its device by measurement: the candidates a machine offers, the fastest of them measured on the
// real loss graph (here with a faked provider, injected through the Runtime interface), the verdict cached and
// measured again when its key changes; and the adapters named from what the operating system says.

import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tensor } from 'onnxruntime-common';
import { parseWindowsDisplayClass, gpuAdapters, webgpuAdapter, type AdapterSources, type GpuAdapter } from '../../src/engine/render/device/adapters.js';
import { deviceCandidates, type CandidateProbe } from '../../src/engine/render/device/candidates.js';
import { settleAutoDevice } from '../../src/engine/render/device/settle.js';
import { decide, readVerdict, verdictFile, type DeviceVerdict } from '../../src/engine/render/device/verdict.js';
import { resolveExecution } from '../../src/engine/render/execution.js';
import { onnxruntime } from '../../src/engine/model/runtime/onnxruntime.js';
import type { Runtime, RuntimeSession, SessionPlan } from '../../src/engine/model/runtime/runtime.js';
import type { OnnxModel } from '../../src/engine/model/graph/builder.js';
import { GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS } from '../../src/engine/model/vgg19.js';

const GPU: GpuAdapter = { name: 'Fake GPU 9000', vendor: 'NVIDIA', driver: '555.1', software: false };
const probe = (extra: Partial<CandidateProbe> = {}): CandidateProbe => ({ os: 'linux', cudaLibraries: true, gpus: [GPU], webgpu: null, cpu: 'Test CPU (2 threads)', includeSoftware: false, ...extra });
const SIZE_PX = 32;

/**
 * onnxruntime-node on the CPU, and a faked 'cuda' that answers every run at once: faster than any CPU. It counts
 * the sessions created on each provider, so a test can tell a cached verdict from a new measurement.
 */
class FakeGpuRuntime implements Runtime {
  readonly backend = 'node' as const;
  readonly created: string[] = [];
  constructor(private readonly fakes: readonly string[] = ['cuda']) {}

  async create(model: OnnxModel, plan: SessionPlan): Promise<RuntimeSession> {
    const device = plan.devices[0]!;
    this.created.push(device);
    const cpu = await onnxruntime('node').create(model, { ...plan, devices: ['cpu'] });
    if (!this.fakes.includes(device)) return cpu;
    return {
      device,
      fallbackReason: null,
      inputNames: cpu.inputNames,
      outputNames: cpu.outputNames,
      tensor: (data, dims) => cpu.tensor(data, dims),
      run: async (): Promise<Record<string, Tensor>> => ({}),
      dispose: () => cpu.dispose(),
    };
  }
}

const tempFile = (): string => verdictFile(mkdtempSync(path.join(os.tmpdir(), 'nst-verdict-')));

describe('the candidates auto measures', () => {
  it('leaves out CUDA without its libraries and a software WebGPU adapter unless asked, saying why', () => {
    const swiftshader: GpuAdapter = { name: 'SwiftShader (software Vulkan)', vendor: 'SwiftShader', driver: 'vk_swiftshader_icd.json', software: true };
    const here = deviceCandidates(probe({ cudaLibraries: false, gpus: [], webgpu: swiftshader }));
    expect(here.map((c) => [c.device, c.excluded])).toEqual([
      ['cuda', "libraries not installed (onnxruntime-node's install step fetches them)"],
      ['webgpu', 'a software adapter, slower than the CPU provider (NST_DEVICES_INCLUDE_SOFTWARE=1 measures it)'],
      ['cpu', null],
    ]);
    expect(deviceCandidates(probe({ cudaLibraries: false, gpus: [], webgpu: swiftshader, includeSoftware: true }))[1]).toMatchObject({ device: 'webgpu', adapter: 'SwiftShader (software Vulkan)', software: true, excluded: null });
    expect(deviceCandidates(probe({ os: 'win32', webgpu: GPU })).map((c) => [c.device, c.adapter, c.excluded])).toEqual([
      ['cuda', 'Fake GPU 9000', null],
      ['dml', 'Fake GPU 9000', null],
      ['webgpu', 'Fake GPU 9000', null],
      ['cpu', 'Test CPU (2 threads)', null],
    ]);
    expect(deviceCandidates(probe({ os: 'darwin', gpus: [], webgpu: null })).map((c) => c.device)).toEqual(['coreml', 'webgpu', 'cpu']);
  });

  it('decides for the fastest that ran, naming each timing and each failure', () => {
    const m = (device: 'cpu' | 'webgpu' | 'cuda', ms: number | null, error: string | null = null) => ({ device, adapter: device === 'cpu' ? 'CPU' : 'SwiftShader', software: false, msPerIteration: ms, setupMs: 1, error });
    expect(decide([m('webgpu', 2400), m('cpu', 115.2)])).toEqual({ device: 'cpu', reason: 'fastest measured (webgpu 2400 ms/it on SwiftShader, cpu 115 ms/it)' });
    expect(decide([m('cuda', null, 'CUDA driver version is insufficient'), m('cpu', 42.25)])).toEqual({ device: 'cpu', reason: 'fastest measured (cpu 42.3 ms/it); cuda could not run: CUDA driver version is insufficient' });
  });
});

describe('settleAutoDevice with a faked provider (injected runtime)', () => {
  it('measures every candidate on the real loss graph, chooses the faster fake, caches it, and resolveExecution follows it', async () => {
    // A first run: the data folder does not exist yet.
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'nst-verdict-')), 'data', 'device-verdict.json');
    const runtime = new FakeGpuRuntime();
    const measuring: string[][] = [];
    const report = await settleAutoDevice({ probe: probe(), file, runtime, sizePx: SIZE_PX, env: {}, onMeasuring: (d) => measuring.push(d.map((c) => c.device)) });
    expect(measuring).toEqual([['cuda', 'cpu']]);
    expect(runtime.created).toEqual(['cuda', 'cpu']);
    expect(report).toMatchObject({ measuredNow: true, cacheError: null, auto: { device: 'cuda', measured: true } });
    expect(report.auto.reason).toMatch(/^fastest measured \(cuda \d+(\.\d)? ms\/it on Fake GPU 9000, cpu \d+(\.\d)? ms\/it\)$/);
    const cpu = report.verdict!.measurements.find((m) => m.device === 'cpu')!;
    expect(cpu.msPerIteration).toBeGreaterThan(0);

    const cached = JSON.parse(readFileSync(file, 'utf8')) as DeviceVerdict;
    expect(cached).toMatchObject({ device: 'cuda', sizePx: SIZE_PX, key: { candidates: ['cuda | Fake GPU 9000 | 555.1', 'cpu | Test CPU (2 threads) | -'] } });

    const execution = resolveExecution({ device: 'auto' }, { width: 64, height: 64, styleLayers: GATYS_STYLE_LAYERS, contentLayers: GATYS_CONTENT_LAYERS, pool: 'max' }, { platform: { os: 'linux', cudaLibraries: true, auto: report.auto } });
    expect(execution).toMatchObject({ device: 'cuda', maxPoolGrad: 'argmax', convAlgorithm: 'direct', session: { devices: ['cuda', 'cpu'], skipped: [], quietFallback: true } });
  });

  it('reuses the cached verdict, and measures again when onnxruntime, a driver, an adapter or the candidates change', async () => {
    const file = tempFile();
    const first = new FakeGpuRuntime();
    await settleAutoDevice({ probe: probe(), file, runtime: first, sizePx: SIZE_PX, env: {} });

    const again = new FakeGpuRuntime();
    const reused = await settleAutoDevice({ probe: probe(), file, runtime: again, sizePx: SIZE_PX, env: {} });
    expect(reused).toMatchObject({ measuredNow: false, auto: { device: 'cuda', measured: true } });
    expect(again.created).toEqual([]);

    const measuredBy = async (changed: CandidateProbe, fakes?: string[]): Promise<string[]> => {
      const runtime = new FakeGpuRuntime(fakes);
      const report = await settleAutoDevice({ probe: changed, file, runtime, sizePx: SIZE_PX, env: {} });
      expect(report.measuredNow).toBe(true);
      return runtime.created;
    };
    expect(await measuredBy(probe({ gpus: [{ ...GPU, driver: '560.2' }] }))).toEqual(['cuda', 'cpu']);
    expect(await measuredBy(probe({ gpus: [{ ...GPU, name: 'Fake GPU 9001' }] }))).toEqual(['cuda', 'cpu']);
    // A new candidate: WebGPU on a hardware adapter (faked too, so the verdict has a tie-break to make).
    expect(await measuredBy(probe({ webgpu: GPU }), ['cuda', 'webgpu'])).toEqual(['cuda', 'webgpu', 'cpu']);

    // A verdict written by another onnxruntime no longer holds.
    const stale = JSON.parse(readFileSync(file, 'utf8')) as DeviceVerdict;
    expect(readVerdict(stale.key, file)).not.toBeNull();
    writeFileSync(file, JSON.stringify({ ...stale, key: { ...stale.key, onnxruntime: '1.29.0' } }));
    expect(readVerdict(stale.key, file)).toBeNull();
    expect(await measuredBy(probe({ webgpu: GPU }), ['cuda', 'webgpu'])).toEqual(['cuda', 'webgpu', 'cpu']);
  });

  it('a verdict that cannot be written (a read-only data folder) holds for this process: measured once, then reused', async () => {
    const blocker = tempFile();
    writeFileSync(blocker, 'a file where the folder should be');
    const file = `${blocker}/device-verdict.json`;
    const first = await settleAutoDevice({ probe: probe(), file, runtime: new FakeGpuRuntime(), sizePx: SIZE_PX, env: {} });
    expect(first.cacheError).toMatch(/could not save the device verdict/);
    const again = new FakeGpuRuntime();
    const second = await settleAutoDevice({ probe: probe(), file, runtime: again, sizePx: SIZE_PX, env: {} });
    expect(second).toMatchObject({ measuredNow: false, auto: { device: 'cuda', measured: true } });
    expect(again.created).toEqual([]);
    expect(readVerdict(second.verdict!.key, file)?.device).toBe('cuda');
  });

  it('measures nothing when only the CPU can run, or when measuring is off; --measure measures even then', async () => {
    const file = tempFile();
    const runtime = new FakeGpuRuntime();
    const only = await settleAutoDevice({ probe: probe({ cudaLibraries: false }), file, runtime, sizePx: SIZE_PX, env: {} });
    expect(only.auto).toEqual({ device: 'cpu', measured: false, reason: "the only device that can run here (cuda: libraries not installed (onnxruntime-node's install step fetches them); webgpu: no WebGPU adapter (no GPU found))" });
    const off = await settleAutoDevice({ probe: probe(), file, runtime, sizePx: SIZE_PX, env: { NST_MEASURE_DEVICES: '0' } });
    expect(off.auto).toEqual({ device: 'cuda', measured: false, reason: "the platform's order: measuring is off (NST_MEASURE_DEVICES=0)" });
    expect(runtime.created).toEqual([]);
    const forced = await settleAutoDevice({ probe: probe({ cudaLibraries: false }), file, runtime, sizePx: SIZE_PX, env: {}, measure: 'always' });
    expect(forced).toMatchObject({ measuredNow: true, auto: { device: 'cpu', measured: true } });
    expect(forced.auto.reason).toMatch(/^the only device that can run here \(cuda: .*\); measured \(cpu \d+(\.\d)? ms\/it\)$/);
    expect(runtime.created).toEqual(['cpu']);
  });
});

describe('GPU adapters as the operating system names them', () => {
  /** A fake Linux root: an NVIDIA GPU with its driver's /proc files, an ASPEED BMC (a display controller, not a GPU), a NIC. */
  function linuxRoot(): string {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-sysfs-'));
    const pci = (slot: string, cls: string, vendor: string, device: string, driver?: string): void => {
      const dir = path.join(root, 'sys/bus/pci/devices', slot);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'class'), `${cls}\n`);
      writeFileSync(path.join(dir, 'vendor'), `${vendor}\n`);
      writeFileSync(path.join(dir, 'device'), `${device}\n`);
      if (driver) symlinkSync(path.join(root, 'bus/pci/drivers', driver), path.join(dir, 'driver'));
    };
    pci('0000:02:00.0', '0x030000', '0x1a03', '0x2000', 'ast');
    pci('0000:17:00.0', '0x030200', '0x10de', '0x2330', 'nvidia');
    pci('0000:18:00.0', '0x020000', '0x8086', '0x1572', 'i40e');
    pci('0000:c1:00.0', '0x030000', '0x1002', '0x73bf', 'amdgpu');
    mkdirSync(path.join(root, 'proc/driver/nvidia/gpus/0000:17:00.0'), { recursive: true });
    writeFileSync(path.join(root, 'proc/driver/nvidia/version'), 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.2.0\n');
    writeFileSync(path.join(root, 'proc/driver/nvidia/gpus/0000:17:00.0/information'), 'Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 16\n');
    mkdirSync(path.join(root, 'usr/share/misc'), { recursive: true });
    writeFileSync(path.join(root, 'usr/share/misc/pci.ids'), '1002  Advanced Micro Devices, Inc. [AMD/ATI]\n\t73bf  Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]\n10de  NVIDIA Corporation\n');
    return root;
  }
  const sources = (root: string): AdapterSources => ({ platform: 'linux', env: {}, root, run: () => null, osRelease: '6.1.0-test' });

  it('Linux: GPUs from the PCI display class (not a BMC), named by the NVIDIA driver or pci.ids, with their driver', () => {
    expect(gpuAdapters(sources(linuxRoot()))).toEqual([
      { name: 'NVIDIA H100 80GB HBM3', vendor: 'NVIDIA', driver: '550.54.15', software: false },
      { name: 'AMD Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]', vendor: 'AMD', driver: 'amdgpu, Linux 6.1.0-test', software: false },
    ]);
    expect(gpuAdapters(sources(mkdtempSync(path.join(os.tmpdir(), 'nst-nosys-'))))).toEqual([]);
  });

  it('WebGPU gets the first GPU, or the software driver the Vulkan loader is pointed at', () => {
    expect(webgpuAdapter([GPU], {})).toBe(GPU);
    expect(webgpuAdapter([], {})).toBeNull();
    expect(webgpuAdapter([GPU], { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' })).toEqual({ name: 'SwiftShader (software Vulkan)', vendor: 'SwiftShader', driver: 'vk_swiftshader_icd.json', software: true });
    expect(webgpuAdapter([], { VK_DRIVER_FILES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' })).toMatchObject({ name: 'lavapipe (software Vulkan)', software: true });
    expect(webgpuAdapter([GPU], { VK_ICD_FILENAMES: `/usr/share/vulkan/icd.d/nvidia_icd.json${path.delimiter}/usr/lib/chromium/vk_swiftshader_icd.json` })).toBe(GPU);
  });

  it('Windows: the display class in the registry, WARP marked as software', () => {
    const reg = [
      'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\0000',
      '    DriverDesc    REG_SZ    NVIDIA GeForce RTX 4070',
      '    ProviderName    REG_SZ    NVIDIA',
      '    DriverVersion    REG_SZ    32.0.15.5585',
      '',
      'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\0001',
      '    DriverDesc    REG_SZ    Microsoft Basic Render Driver',
      '    ProviderName    REG_SZ    Microsoft',
      '',
      'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\Properties',
    ].join('\r\n');
    expect(parseWindowsDisplayClass(reg)).toEqual([
      { name: 'NVIDIA GeForce RTX 4070', vendor: 'NVIDIA', driver: '32.0.15.5585', software: false },
      { name: 'Microsoft Basic Render Driver', vendor: 'Microsoft', driver: null, software: true },
    ]);
  });

  it('macOS: the chip names the GPU', () => {
    expect(gpuAdapters({ platform: 'darwin', env: {}, root: '/', run: () => 'Apple M2 Pro\n', osRelease: '23.4.0' })).toEqual([{ name: 'Apple M2 Pro GPU', vendor: 'Apple', driver: 'Darwin 23.4.0', software: false }]);
  });
});
