// `nst devices` and `auto` on this machine, for real: WebGPU on SwiftShader (a software Vulkan driver, as shipped with
// Debian's chromium) is recognised as software, measured when asked, and loses to the CPU; the verdict is cached and
// said in one line; and no device test lets a native Dawn/onnxruntime line reach stderr.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, runNst, type CliResult } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json';
const ortNode = createRequire(import.meta.url)('onnxruntime-node') as { listSupportedBackends(): { name: string; bundled: boolean }[] };
const webgpuBundled = ortNode.listSupportedBackends().some((b) => b.name === 'webgpu' && b.bundled);
const whyNoSwiftShader = !webgpuBundled ? 'onnxruntime-node here does not bundle webgpu' : !existsSync(SWIFTSHADER_ICD) ? `${SWIFTSHADER_ICD} is absent (apt-get install chromium)` : null;

/** Only the Vulkan loader's SwiftShader: whatever GPU the machine has, WebGPU sees a software adapter. */
const swiftshader = (dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ VK_ICD_FILENAMES: SWIFTSHADER_ICD, NST_DATA_DIR: dataDir, NST_DEVICES_INCLUDE_SOFTWARE: '', ...extra });
const newDataDir = (): string => mkdtempSync(path.join(os.tmpdir(), 'nst-devices-'));

/** Every stderr line is one of nst's own: nothing native (Dawn, Vulkan drivers, onnxruntime) got through. */
function expectOnlyNstLines(result: CliResult): void {
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  expect(lines.filter((l) => !l.startsWith('nst: ')), result.stderr).toEqual([]);
}

interface DevicesJson {
  devices: { device: string; adapter: string | null; software: boolean; canRun: boolean | null; excluded: string | null; msPerIteration: number | null; error: string | null }[];
  verdict: { device: string; reason: string; sizePx: number } | null;
  auto: { device: string; reason: string; measured: boolean };
  measuredNow: boolean;
}

describe.skipIf(whyNoSwiftShader !== null)(`nst devices with SwiftShader's WebGPU${whyNoSwiftShader ? ` (skipped: ${whyNoSwiftShader})` : ''}`, () => {
  it('names the software adapter and leaves it out of auto, saying why; the table says the same', async () => {
    const env = swiftshader(newDataDir());
    const result = await runNst(['devices', '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const report = jsonLines(result.stdout)[0] as unknown as DevicesJson;
    expect(report.devices.find((d) => d.device === 'webgpu')).toMatchObject({ adapter: 'SwiftShader (software Vulkan)', software: true, canRun: false, excluded: expect.stringMatching(/^a software adapter, slower than the CPU provider/) });
    expect(report.devices.find((d) => d.device === 'cpu')).toMatchObject({ canRun: true, excluded: null });
    expect(report).toMatchObject({ verdict: null, measuredNow: false, auto: { measured: false } });

    const table = await runNst(['devices'], { env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^device +adapter +can run +ms\/it \(128 px\) +note$/m);
    expect(table.stdout).toMatch(/^webgpu +SwiftShader \(software Vulkan\) +no +- +a software adapter/m);
    expect(table.stdout).toMatch(/^auto: /m);
  });

  it('measures SwiftShader and the CPU when asked, chooses the CPU, and auto says so in one line from the cache', async () => {
    const dataDir = newDataDir();
    const env = swiftshader(dataDir, { NST_DEVICES_INCLUDE_SOFTWARE: '1' });
    const measured = await runNst(['devices', '--measure', '--size', '32', '--json'], { env });
    expect(measured.code, measured.stderr).toBe(0);
    expectOnlyNstLines(measured);
    expect(measured.stderr).toBe('nst: measuring webgpu, cpu at 32 px …\n');
    const report = jsonLines(measured.stdout)[0] as unknown as DevicesJson;
    const webgpu = report.devices.find((d) => d.device === 'webgpu')!;
    const cpu = report.devices.find((d) => d.device === 'cpu')!;
    console.info(`[devices] 32 px: webgpu on SwiftShader ${webgpu.msPerIteration?.toFixed(0)} ms/it, cpu ${cpu.msPerIteration?.toFixed(1)} ms/it`);
    expect(webgpu, webgpu.error ?? '').toMatchObject({ canRun: true, software: true, error: null });
    expect(webgpu.msPerIteration!).toBeGreaterThan(cpu.msPerIteration!);
    expect(report).toMatchObject({ measuredNow: true, verdict: { device: 'cpu', sizePx: 32 }, auto: { device: 'cpu', measured: true } });
    expect(report.auto.reason).toMatch(/^fastest measured \(webgpu \d+ ms\/it on SwiftShader \(software Vulkan\), cpu \d+(\.\d)? ms\/it\)$/);
    expect(JSON.parse(readFileSync(path.join(dataDir, 'device-verdict.json'), 'utf8'))).toMatchObject({ device: 'cpu', reason: report.auto.reason });

    // A run with auto reads the cached verdict: no measuring, one line saying which device and why.
    const bench = await runNst(['bench', '--size', '32', '--iterations', '1', '--random-weights'], { env });
    expect(bench.code, bench.stderr).toBe(0);
    expect(bench.stderr).toBe(`nst: auto: cpu: ${report.auto.reason}\n`);
    expect(bench.stdout).toMatch(/ on cpu /);

    // Without the software adapter the candidates differ: the CPU is the only one, and that is what auto says.
    const alone = await runNst(['bench', '--size', '32', '--iterations', '1', '--random-weights'], { env: swiftshader(dataDir) });
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stderr).toMatch(/^nst: auto: cpu: the only device that can run here \(.*webgpu: a software adapter, slower than the CPU provider .*\)\n$/);
  }, 600_000);
});

const hasData = hasShared('data', 'vgg19-imagenet-block1-3') && hasShared('data', 'images');

describe.skipIf(!webgpuBundled || !hasData || !existsSync(LAVAPIPE_ICD))('an explicit --device webgpu without a usable adapter', () => {
  it('runs on the CPU and says why in one nst: line, with none of Dawn’s native lines', async () => {
    // lavapipe lacks what Dawn requires: Dawn rejects it and finds no adapter (and would say so natively).
    const result = await runNst([
      'loss', sharedPath('data', 'images', 'content_tubingen_64.png'), '--style', sharedPath('data', 'images', 'style_starry_night_64.png'),
      '--content', sharedPath('data', 'images', 'content_tubingen_64.png'), '--weights', sharedPath('data', 'vgg19-imagenet-block1-3'),
      '--style-layers', 'block1_conv1,block2_conv1', '--content-layers', 'block2_conv2', '--device', 'webgpu',
    ], { env: { VK_ICD_FILENAMES: LAVAPIPE_ICD, XDG_RUNTIME_DIR: '' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('nst: running on cpu: webgpu unavailable (Failed to get a WebGPU adapter: No supported adapters)\n');
    expect(jsonLines(result.stdout)[0]).toHaveProperty('total');
  });
});
