// The device in the studio: the top bar names what a run will use (the GPU's name, the CPU's) and why Automatic
// chose it; the Device parameter lists each device with its measured speed, and pinning one is shown and saved.
// The renderer on its own, with the fake host (helpers/fake-api.ts).

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { collectPageProblems, fakeApiScript, hasChromium, launchChromium, serveFolder, type LaunchedBrowser } from './helpers/browser.js';
import { rendererBuild, type RendererBuild } from '../helpers/renderer-build.js';
import type { DevicesInfo } from '../../src/shared/api.js';
import type { StudioSettings } from '../../src/shared/studio-settings.js';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'renderer-e2e');

const DEVICES: DevicesInfo = {
  auto: { device: 'cuda', reason: 'fastest measured (cuda 12.0 ms/it on NVIDIA GeForce RTX 4070, cpu 115 ms/it)', measured: true },
  devices: [
    { device: 'cuda', adapter: 'NVIDIA GeForce RTX 4070', software: false, canRun: true, msPerIteration: 12, why: null },
    { device: 'webgpu', adapter: 'SwiftShader (software Vulkan)', software: true, canRun: false, msPerIteration: null, why: 'a software adapter, slower than the CPU provider' },
    { device: 'cpu', adapter: 'Fake CPU (4 threads)', software: false, canRun: true, msPerIteration: 115.2, why: null },
  ],
  measuredAt: '2026-12-07T10:00:00.000Z',
  sizePx: 128,
};

describe.skipIf(!hasChromium())('the device in the studio (fake host)', () => {
  let built: RendererBuild | undefined;
  let server: { url: string; close(): Promise<void> };
  let chromium: LaunchedBrowser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    built = await rendererBuild();
    server = await serveFolder(built.dir);
    chromium = await launchChromium({ width: 1280, height: 800 });
    page = await chromium.context.newPage();
    collectPageProblems(page, problems);
    await page.addInitScript({ content: fakeApiScript({ msPerIteration: 40, devices: ['cpu', 'cuda', 'webgpu'], devicesInfo: DEVICES }) });
    await page.goto(server.url);
  }, 180_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    built?.release();
  });

  it("names the GPU Automatic chose in the top bar, with its reason; lists each device's name and speed", async () => {
    const name = page.getByTestId('device-name');
    await expect.poll(() => name.textContent()).toBe('NVIDIA GeForce RTX 4070');
    expect(await name.getAttribute('title')).toBe(`Automatic: CUDA, ${DEVICES.auto.reason}`);
    const select = page.getByTestId('param-device');
    expect(await select.locator('option').allTextContents()).toEqual([
      'Automatic (CUDA)',
      'CPU, 115 ms/it',
      'CUDA (NVIDIA) — NVIDIA GeForce RTX 4070, 12.0 ms/it',
      'DirectML (Windows) — not found',
      'Core ML (macOS) — not found',
      'WebGPU — SwiftShader (software Vulkan) — cannot run here',
    ]);
    expect(await page.locator('#p-device-hint').textContent()).toBe(`Runs on CUDA, ${DEVICES.auto.reason}.`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'devices-auto.png') });
  });

  it('pins the CPU: the top bar names it, the hint says it is pinned, and the setting is saved', async () => {
    await page.getByTestId('param-device').selectOption('cpu');
    await expect.poll(() => page.getByTestId('device-name').textContent()).toBe('Fake CPU (4 threads)');
    expect(await page.getByTestId('device').textContent()).toContain('device: CPU');
    expect(await page.locator('#p-device-hint').textContent()).toBe('Pinned: every run uses CPU. Automatic would take CUDA.');
    const saved = (): Promise<string | undefined> =>
      page.evaluate(async () => {
        const api = (window as unknown as { api: { getSettings(): Promise<{ ok: boolean; value?: StudioSettings | null }> } }).api;
        return (await api.getSettings()).value?.device;
      });
    await expect.poll(saved, { timeout: 10_000 }).toBe('cpu');

    await page.getByTestId('param-device').selectOption('webgpu');
    expect(await page.locator('#p-device-hint').textContent()).toBe('Pinned: every run uses WebGPU (a software adapter, slower than the CPU provider). Automatic would take CUDA.');
    expect(problems).toEqual([]);
  });
});
