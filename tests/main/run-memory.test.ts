// The job worker under a memory limit: a run that would not fit whole is planned smaller-and-upsampled or tiled,
// says so in a notice, still ends with an image of the requested size, and (tiled) refuses live weight changes.

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ExportService } from '../../src/main/services/export-service.js';
import type { RunEvent } from '../../src/shared/api.js';
import { layers, studioDataPresent, testSettings, tubingenStarryRequest } from '../helpers/studio.js';
import { useRunService } from '../helpers/run-service-fixture.js';
import { planRender } from '../../src/engine/render/render.js';
import { MB } from '../../src/engine/render/memory.js';
import { renderSpec } from '../../src/main/services/memory-estimate.js';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const present = studioDataPresent();

describe.skipIf(!present)('RunService with a small memory limit (real uint8 VGG19, Tübingen / Starry Night at 256 px)', () => {
  const studio = useRunService({ previewIntervalMs: 0 });

  async function run(settings: ReturnType<typeof testSettings>): Promise<{ runId: string; done: Of<'done'>; events: RunEvent[] }> {
    const started = await studio.service.startRun(await tubingenStarryRequest(settings));
    if (!started.ok) throw new Error(started.error.message);
    const runId = started.value.runId;
    const end = await studio.log.end(runId, 180_000);
    if (end.type !== 'done') throw new Error(`the run ended with ${JSON.stringify(end)}`);
    return { runId, done: end, events: studio.log.of(runId) };
  }

  // 300 MB: 256 px needs about 364 MB with blocks 1–2 (Adam, Conv), so the run falls back (about 173 px, or 4 tiles).
  // Shallow layers: with the Gatys layers the setup's ~580 MB sets the peak up to 256 px, and nothing smaller fits.
  const LIMIT_MB = 300;
  const SHALLOW = layers(['block1_conv1', 'block2_conv1'], ['block2_conv2']);
  /** What the engine plans for these settings: the worker must run exactly that. */
  const expectedPlan = (settings: ReturnType<typeof testSettings>) => planRender(renderSpec(settings, { width: 256, height: 256 }, 1), LIMIT_MB * MB, settings.tile);

  it('tile off: a 256-px run over a 300 MB limit is optimised smaller, says so, and ends at 256 x 256', { timeout: 200_000 }, async () => {
    const settings = testSettings({ sizePx: 256, iterations: 3, memoryLimitMb: LIMIT_MB, tile: 'off', layers: SHALLOW });
    const expected = expectedPlan(settings);
    expect(expected.plan).toMatchObject({ mode: 'downscaled', sizePx: expect.any(Number) });
    const fit = (expected.plan as { sizePx: number }).sizePx;
    expect(fit).toBeLessThan(256);
    const { runId, done, events } = await run(settings);
    const plan = events.find((e): e is Of<'plan'> => e.type === 'plan');
    expect(plan).toMatchObject({ plan: { mode: 'downscaled', sizePx: fit }, iterations: 3, steerable: true, reason: null });
    const notices = events.filter((e): e is Of<'notice'> => e.type === 'notice').map((e) => e.message);
    expect(notices).toEqual([expected.notice]);
    expect(expected.notice).toMatch(new RegExp(`^256x256 needs about \\d+ MB, over the ${LIMIT_MB} MB memory limit: optimising at ${fit} px and upsampling to 256 px$`));
    // The notice and the plan come before the first iteration; the window is told the output's size.
    const types = events.map((e) => e.type);
    expect(types.indexOf('notice')).toBeLessThan(types.indexOf('progress'));
    expect(events.find((e) => e.type === 'started')).toMatchObject({ width: 256, height: 256 });
    const progress = events.filter((e): e is Of<'progress'> => e.type === 'progress');
    expect(progress.map((p) => p.loss.iteration)).toEqual([1, 2, 3]);
    // Previews are shown at the output's size, though the optimiser works smaller.
    expect(progress[0]!.preview).toMatchObject({ width: 256, height: 256 });
    expect(done).toMatchObject({ iterations: 3, stopped: false, final: { width: 256, height: 256 } });
    const exported = await new ExportService(studio.service).exportImage({ runId, format: 'png', sizePx: null });
    expect(exported.ok && (await sharp(exported.value.bytes).metadata())).toMatchObject({ width: 256, height: 256 });
  });

  it('tile auto: renders 4 tiles after a 128-px pass, counts every tile in the total, and ignores live weight changes', { timeout: 300_000 }, async () => {
    const settings = testSettings({ sizePx: 256, iterations: 2, memoryLimitMb: LIMIT_MB, tile: 'auto', originalColors: true, layers: SHALLOW });
    const expected = expectedPlan(settings);
    expect(expected.plan).toMatchObject({ mode: 'tiled', tiles: 4, coherencePx: 128 });
    const started = await studio.service.startRun(await tubingenStarryRequest(settings));
    if (!started.ok) throw new Error(started.error.message);
    const runId = started.value.runId;
    const plan = (await studio.log.next(runId, 'plan')) as Of<'plan'>;
    expect(plan).toMatchObject({ plan: { mode: 'tiled', tiles: 4, coherencePx: 128 }, iterations: 2 * (1 + 4), steerable: false });
    expect(plan.reason).toMatch(/Tiled runs/);
    // A weight change mid-run is refused by the worker (the window disables the controls): no rebuild, no error.
    expect(await studio.service.updateRunSettings({ runId, settings: { ...settings, styleWeight: 50, layers: { ...settings.layers, block2_conv2: { style: true, styleWeight: 1, content: false } } } })).toEqual({ ok: true, value: null });
    const end = await studio.log.end(runId, 280_000);
    expect(end).toMatchObject({ type: 'done', iterations: 10, stopped: false, final: { width: 256, height: 256 } });
    const events = studio.log.of(runId);
    expect(events.some((e) => e.type === 'rebuilt')).toBe(false);
    expect(events.filter((e) => e.type === 'notice').map((e) => (e as Of<'notice'>).message)).toEqual([expected.notice]);
    expect(expected.notice).toContain('rendering 4 tiles of');
    const iterations = events.filter((e): e is Of<'progress'> => e.type === 'progress').map((p) => p.loss.iteration);
    expect(iterations).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events.filter((e): e is Of<'progress'> => e.type === 'progress').every((p) => p.iterations === 10)).toBe(true);
  });

  it('multi-scale: a layer turned on during the coarse scale rebuilds and finishes with one scale of iterations at full size', { timeout: 200_000 }, async () => {
    // 10 iterations at 64 px (a quarter), then 40 at 128 px.
    const settings = testSettings({ sizePx: 128, iterations: 40, scales: 2, layers: layers(['block1_conv1'], ['block2_conv2']) });
    const started = await studio.service.startRun(await tubingenStarryRequest(settings));
    if (!started.ok) throw new Error(started.error.message);
    const runId = started.value.runId;
    expect(await studio.log.next(runId, 'plan')).toMatchObject({ plan: { mode: 'whole', sizePx: 128 }, iterations: 50 });
    // Scale 1 of 2 is 64 px: turn on a layer the graph lacks there.
    await studio.log.next(runId, 'progress', (e) => (e as Of<'progress'>).loss.iteration >= 2);
    expect(await studio.service.updateRunSettings({ runId, settings: { ...settings, layers: layers(['block1_conv1', 'block3_conv1'], ['block2_conv2']) } })).toEqual({ ok: true, value: null });
    const rebuilt = (await studio.log.next(runId, 'rebuilt')) as Of<'rebuilt'>;
    expect(rebuilt.reason).toContain('block3_conv1 (style) is not in the current graph');
    expect(rebuilt.iteration).toBeLessThan(10);
    const end = await studio.log.end(runId, 180_000);
    // The coarse scale's iterations so far, then 40 at 128 px (not the 50 - k the two scales had left).
    expect(end).toMatchObject({ type: 'done', stopped: false, iterations: rebuilt.iteration + 40, final: { width: 128, height: 128 } });
    const progress = studio.log.of(runId).filter((e): e is Of<'progress'> => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ iterations: rebuilt.iteration + 40, loss: { iteration: rebuilt.iteration + 40 } });
    expect(Object.keys(progress.at(-1)!.loss.style)).toEqual(['block1_conv1', 'block3_conv1']);
  });
});
