// Masks through the studio's run path: a run request's masks reach the engine's loss, masks painted mid-run reach
// the run at its next iteration (another kind of masks rebuilds its network), and masks the engine would refuse are
// refused as data before they reach a run. Real uint8 VGG19, 64-px Tübingen / Starry Night.

import { describe, expect, it } from 'vitest';
import type { MaskSet, RunEvent } from '../../src/shared/api.js';
import { halfMasks, rowsMask, studioDataPresent, testSettings, tubingenStarryRequest } from '../helpers/studio.js';
import { useRunService } from '../helpers/run-service-fixture.js';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const relative = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe.skipIf(!studioDataPresent())('RunService with masks (real uint8 VGG19, 64 px)', () => {
  const studio = useRunService();
  const { started } = studio;

  /** The run's progress losses, iteration by iteration, once it is done. */
  async function losses(runId: string): Promise<Of<'progress'>[]> {
    const end = await studio.log.end(runId);
    if (end.type !== 'done') throw new Error(`${runId} ended with ${JSON.stringify(end)}`);
    return studio.log.of(runId).filter((e): e is Of<'progress'> => e.type === 'progress');
  }

  // Adam's steps move each pixel by about the learning rate: at 1e-4 the image stays put, so the loss tells which
  // masks are in force at each iteration.
  const still = testSettings({ iterations: 3, learningRate: 1e-4 });

  it('paints with the request\'s masks: white everywhere is the unmasked loss, the top half another one', async () => {
    const request = await tubingenStarryRequest(still);
    const white: MaskSet = { width: 64, height: 64, styles: [new Uint8Array(64 * 64).fill(255)], content: null };
    const plain = await losses(await started(request));
    const allWhite = await losses(await started({ ...request, masks: white }));
    // A mask of another size is resized to the image by the engine: the top half at 32 x 16.
    const top = await losses(await started({ ...request, masks: halfMasks('top', 32, 16) }));
    expect(relative(allWhite[0]!.loss.total, plain[0]!.loss.total)).toBeLessThan(1e-4);
    expect(relative(top[0]!.loss.total, plain[0]!.loss.total)).toBeGreaterThan(0.05);
  });

  it('takes masks painted mid-run at the next iteration, without a rebuild', async () => {
    const settings = { ...still, iterations: 14 };
    const request = await tubingenStarryRequest(settings);
    const bottom = (await losses(await started({ ...request, masks: halfMasks('bottom') })))[0]!.loss.total;
    const runId = await started({ ...request, masks: halfMasks('top') });
    const sentAfter = (await studio.log.next(runId, 'progress', (e) => (e as Of<'progress'>).loss.iteration >= 3)) as Of<'progress'>;
    expect(await studio.service.setRunMasks({ runId, masks: halfMasks('bottom') })).toEqual({ ok: true, value: null });
    const progress = await losses(runId);
    const top = progress[0]!.loss.total;
    expect(relative(bottom, top)).toBeGreaterThan(0.05);
    const phases = progress.map((p) => (relative(p.loss.total, top) < 1e-3 ? 'top' : relative(p.loss.total, bottom) < 1e-3 ? 'bottom' : `neither@${p.loss.iteration}`));
    const switchAt = phases.indexOf('bottom');
    // Every iteration paints with one or the other: the top half up to the change, the bottom half from the next one on.
    expect(switchAt).toBeGreaterThanOrEqual(sentAfter.loss.iteration);
    expect(phases.slice(0, switchAt).every((p) => p === 'top')).toBe(true);
    expect(phases.slice(switchAt).every((p) => p === 'bottom')).toBe(true);
    expect(studio.log.of(runId).some((e) => e.type === 'rebuilt')).toBe(false);
  });

  it('rebuilds the network when masks are turned on mid-run, and goes on to its iteration count with them', async () => {
    const settings = { ...still, iterations: 12 };
    const request = await tubingenStarryRequest(settings);
    const masked = (await losses(await started({ ...request, masks: halfMasks('top') })))[0]!.loss.total;
    const runId = await started(request);
    await studio.log.next(runId, 'progress', (e) => (e as Of<'progress'>).loss.iteration >= 3);
    expect(await studio.service.setRunMasks({ runId, masks: halfMasks('top') })).toEqual({ ok: true, value: null });
    const rebuilt = (await studio.log.next(runId, 'rebuilt')) as Of<'rebuilt'>;
    expect(rebuilt.reason).toBe('style masks were turned on');
    const progress = await losses(runId);
    expect(progress.map((p) => p.loss.iteration)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const p of progress.filter((p) => p.loss.iteration > rebuilt.iteration)) expect(relative(p.loss.total, masked)).toBeLessThan(1e-3);
    expect(relative(progress[0]!.loss.total, masked)).toBeGreaterThan(0.05);
  });

  it('refuses masks the engine would refuse, in its words, before they reach a run', async () => {
    const request = await tubingenStarryRequest(still);
    const black: MaskSet = { width: 64, height: 64, styles: [new Uint8Array(64 * 64)], content: null };
    const sentence = 'Style mask 1 is black everywhere, so it gives no region: paint where it applies (white), or leave it out.';
    expect(await studio.service.startRun({ ...request, masks: black })).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: sentence } });
    expect(await studio.service.startRun({ ...request, masks: { ...halfMasks('top'), content: new Uint8Array(64 * 64) } })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT', message: expect.stringMatching(/^The content mask is black everywhere/) },
    });

    const runId = await started({ ...request, settings: { ...still, iterations: 200 }, masks: halfMasks('top') });
    await studio.log.next(runId, 'progress');
    expect(await studio.service.setRunMasks({ runId, masks: black })).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: sentence } });
    const two = { ...halfMasks('top'), styles: [...halfMasks('top').styles, ...halfMasks('bottom').styles] };
    expect(await studio.service.setRunMasks({ runId, masks: two })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^2 style masks for 1 style image/) } });
    expect(await studio.service.stopRun({ runId })).toEqual({ ok: true, value: null });
    // The run went on untouched by the refused masks until it was stopped.
    expect(await studio.log.end(runId)).toMatchObject({ type: 'done', stopped: true });
  });

  it('a mid-run edit the run cannot use (its region only in rows the pools drop) is refused in words, and the run goes on with its masks', async () => {
    // 60 x 60: block5_conv1 (four pools) sees rows 0-47 only; the edit paints rows 56-63 of 64 (about 53-59 of 60).
    const settings = { ...still, sizePx: 60, iterations: 6 };
    const request = await tubingenStarryRequest(settings);
    const runId = await started({ ...request, masks: halfMasks('top') });
    await studio.log.next(runId, 'progress');
    const unseen: MaskSet = { width: 64, height: 64, styles: [rowsMask(64, 64, 56, 64)], content: null };
    expect(await studio.service.setRunMasks({ runId, masks: unseen })).toEqual({ ok: true, value: null });
    const progress = await losses(runId);
    expect(progress.at(-1)!.loss.iteration).toBe(6);
    const refused = studio.log.of(runId).filter((e): e is Of<'masksRefused'> => e.type === 'masksRefused');
    expect(refused.length).toBe(1);
    expect(refused[0]!.message).toMatch(/^Style mask 1 covers only the last rows or columns of the 60x60 image, which block5_conv1 never sees/);
    // The top half stayed in force: every iteration's loss is the first one's (the image barely moves).
    for (const p of progress) expect(relative(p.loss.total, progress[0]!.loss.total)).toBeLessThan(1e-3);
  });

  it('a tiled run takes mask edits of its kind and refuses another kind in words (it is never rebuilt)', async () => {
    const request = await tubingenStarryRequest({ ...still, iterations: 200, tile: 64, scales: 'off' });
    const runId = await started({ ...request, masks: halfMasks('top') });
    const plan = (await studio.log.next(runId, 'plan')) as Of<'plan'>;
    expect(plan.plan.mode).toBe('tiled');
    await studio.log.next(runId, 'progress');
    expect(await studio.service.setRunMasks({ runId, masks: halfMasks('bottom') })).toEqual({ ok: true, value: null });
    expect(await studio.service.setRunMasks({ runId, masks: null })).toEqual({ ok: true, value: null });
    const refused = (await studio.log.next(runId, 'masksRefused')) as Of<'masksRefused'>;
    expect(refused.message).toBe('Style masks were turned off, which a tiled run cannot take mid-run (it keeps its kind of masks): that applies to the next run.');
    expect(await studio.service.stopRun({ runId })).toEqual({ ok: true, value: null });
    expect(await studio.log.end(runId)).toMatchObject({ type: 'done', stopped: true });
    // One refusal: the same-kind edit before it was taken.
    expect(studio.log.of(runId).filter((e) => e.type === 'masksRefused').length).toBe(1);
    expect(studio.log.of(runId).some((e) => e.type === 'rebuilt' || e.type === 'error')).toBe(false);
  });
});
