// The estimate behind the size control (IPC estimateMemory): the engine's own numbers for the studio's settings,
// the budget it is measured against, and the proposal when a run does not fit.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MB, estimateMemory, largestFittingSize, withExecution, type RunShape } from '../../src/engine/render/memory.js';
import { resolveExecution } from '../../src/engine/render/execution.js';
import { planRender } from '../../src/engine/render/render.js';
import { ipcHandler } from '../../src/main/ipc/index.js';
import { saveDialogCalls } from '../../src/main/ipc/save-dialogs.js';
import { APP_INDEX_URL } from '../../src/main/app-protocol.js';
import { trustPolicy, type SenderInfo } from '../../src/main/security.js';
import { StudioBackend } from '../../src/main/services/studio-backend.js';
import type { ApiCalls, MemoryEstimateInfo, Result } from '../../src/shared/api.js';
import { apiHandlers } from '../../src/shared/dispatch.js';
import { DEFAULT_STUDIO_SETTINGS, applyPreset, type StudioSettings } from '../../src/shared/studio-settings.js';
import { tsJobWorker } from '../helpers/studio.js';

vi.mock('electron', () => {
  throw new Error('a module under test loaded electron at run time');
});

const policy = trustPolicy({ isOwnWebContents: (id) => id === 1 });
const ownEvent: SenderInfo = { sender: { id: 1 }, senderFrame: { url: APP_INDEX_URL, parent: null } };
const GATYS = { styleLayers: ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1'], contentLayers: ['block4_conv2'] };
/** The engine's estimate for a CPU run of `shape`, executed as the engine decides ('auto' convs). */
const cpuEstimate = (shape: RunShape) => estimateMemory(withExecution(shape, resolveExecution({ device: 'cpu' }, shape)));

let dir: string;
let backend: StudioBackend;
let handlers: ApiCalls;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-estimate-'));
  backend = await StudioBackend.create({ dataDir: dir, worker: tsJobWorker(), version: 'test', env: {} });
  handlers = apiHandlers(backend.services, saveDialogCalls(backend, { chooseSavePath: async () => null, writeFileAtomic: async () => undefined, chooseExecutable: async () => null }));
});

afterAll(async () => {
  await backend?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Through the guarded IPC handler, as the window's call arrives in the main process. */
const estimate = (payload: unknown): Promise<Result<MemoryEstimateInfo>> =>
  ipcHandler('estimateMemory', handlers, policy, () => undefined)(ownEvent, payload) as Promise<Result<MemoryEstimateInfo>>;

const settings = (patch: Partial<StudioSettings>): StudioSettings => ({ ...structuredClone(DEFAULT_STUDIO_SETTINGS), device: 'cpu', ...patch });

describe('estimateMemory over IPC', () => {
  it("returns the engine's estimate for the output size (the photo's aspect ratio), layers and optimizer", async () => {
    const result = await estimate({ settings: settings({ sizePx: 512, memoryLimitMb: 16000 }), content: { width: 640, height: 480 } });
    if (!result.ok) throw new Error(result.error.message);
    const engine = cpuEstimate({ width: 512, height: 384, ...GATYS, pool: 'max', optimizer: 'lbfgs', styleImages: 1, styleScale: 1 });
    expect(result.value).toMatchObject({ width: 512, height: 384, totalBytes: engine.totalBytes, deviceBytes: null, calibrated: true });
    expect(result.value.breakdown).toEqual(engine.breakdown);
    expect(result.value).toMatchObject({ limitBytes: 16000 * MB, limitSource: 'setting', fits: true, largestFittingPx: null, tiling: null, planError: null });
    expect(result.value.plan).toEqual({ mode: 'whole', sizePx: 512, estimateBytes: engine.totalBytes });
  });

  // At 256 px both optimizers get Conv under 'auto' (Winograd from WINOGRAD_AUTO_MIN_PX; the estimate follows the choice).
  it('follows the settings: Adam needs less than L-BFGS, a shallower preset less again, two styles at scale 2 more', async () => {
    const total = async (patch: Partial<StudioSettings>, styleImages = 1): Promise<number> => {
      const r = await estimate({ settings: settings({ sizePx: 256, memoryLimitMb: 16000, ...patch }), content: null, styleImages });
      if (!r.ok) throw new Error(r.error.message);
      return r.value.totalBytes;
    };
    const lbfgs = await total({});
    const adam = await total({ optimizer: 'adam' });
    expect(adam).toBe(cpuEstimate({ width: 256, height: 256, ...GATYS, optimizer: 'adam' }).totalBytes);
    expect(adam).toBeLessThan(lbfgs);
    const shallow = await total({ layers: applyPreset(DEFAULT_STUDIO_SETTINGS, 'single-block1_conv1').layers });
    expect(shallow).toBe(cpuEstimate({ width: 256, height: 256, styleLayers: ['block1_conv1'], contentLayers: [], optimizer: 'lbfgs' }).totalBytes);
    expect(shallow).toBeLessThan(lbfgs);
    expect(await total({ styleScale: 2 }, 2)).toBe(cpuEstimate({ width: 256, height: 256, ...GATYS, styleImages: 2, styleScale: 2 }).totalBytes);
  });

  it('when the size does not fit the limit: the largest size that fits, the tiling that would, and what the tile setting does', async () => {
    const limitMb = 1500;
    // Over the limit an 'auto' run executes with Conv.
    const spec = { width: 2048, height: 1536, ...GATYS, pool: 'max' as const, optimizer: 'lbfgs' as const, device: 'cpu' as const, convAlgorithm: 'direct' as const, maxPoolGrad: 'argmax' as const, styleImages: 1, styleScale: 1 };
    const renderSpec = { width: 2048, height: 1536, settings: { ...GATYS, pool: 'max' as const, optimizer: 'lbfgs' as const, device: 'cpu' as const }, styleImages: 1, styleScale: 1 };
    const largest = largestFittingSize(spec, limitMb * MB);
    expect(largest).not.toBeNull();

    const auto = await estimate({ settings: settings({ sizePx: 2048, memoryLimitMb: limitMb }), content: { width: 4000, height: 3000 } });
    if (!auto.ok) throw new Error(auto.error.message);
    expect(auto.value).toMatchObject({ width: 2048, height: 1536, fits: false, largestFittingPx: largest, limitBytes: limitMb * MB });
    expect(auto.value.totalBytes).toBeGreaterThan(limitMb * MB);
    const tiled = planRender(renderSpec, limitMb * MB, 'auto').plan;
    expect(tiled.mode).toBe('tiled');
    expect(auto.value.tiling).toEqual(tiled);
    expect(auto.value.plan).toEqual(tiled);

    const off = await estimate({ settings: settings({ sizePx: 2048, memoryLimitMb: limitMb, tile: 'off' }), content: { width: 4000, height: 3000 } });
    if (!off.ok) throw new Error(off.error.message);
    expect(off.value.plan).toMatchObject({ mode: 'downscaled', sizePx: largest });
    expect(off.value.tiling).toEqual(tiled);
  });

  it('says when nothing fits, as data', async () => {
    const r = await estimate({ settings: settings({ sizePx: 512, memoryLimitMb: 256 }), content: null });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value).toMatchObject({ fits: false, largestFittingPx: null, tiling: null, plan: null });
    expect(r.value.planError).toMatch(/Not even a 64-px run fits in the 256 MB memory limit/);
  });

  it('without a limit set, measures against the memory available now', async () => {
    const r = await estimate({ settings: settings({ sizePx: 256 }), content: null });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.limitSource).toBe('available');
    expect(r.value.limitBytes).toBeGreaterThanOrEqual(256 * MB);
    expect(r.value.limitBytes).toBeLessThanOrEqual(os.totalmem());
  });

  it('refuses a malformed request as BAD_REQUEST, naming the field', async () => {
    expect(await estimate({ settings: settings({ sizePx: 10 }), content: null })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('settings.sizePx') } });
    expect(await estimate({ settings: settings({}), content: { width: -4, height: 3 } })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('content.width') } });
  });
});
