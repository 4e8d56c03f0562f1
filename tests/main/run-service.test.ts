// The run service: a queue of real style-transfer runs (real VGG19 weights, real 64-px images) executed one at
// a time in a worker thread, steered while they run, and robust to bad input and to a worker that dies.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { RunService } from '../../src/main/services/run-service.js';
import { ExportService } from '../../src/main/services/export-service.js';
import type { LossPoint, RunEvent, StartRunRequest } from '../../src/shared/api.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { EventLog, layers, studioDataPresent, testSettings, tsJobWorker, tubingenStarryRequest } from '../helpers/studio.js';
import { useRunService } from '../helpers/run-service-fixture.js';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const present = studioDataPresent();

async function started(service: RunService, request: StartRunRequest): Promise<string> {
  const result = await service.startRun(request);
  if (!result.ok) throw new Error(`startRun failed: ${result.error.message}`);
  return result.value.runId;
}

async function jpegSize(bytes: Uint8Array): Promise<{ format: string | undefined; width: number; height: number }> {
  const meta = await sharp(bytes).metadata();
  return { format: meta.format, width: meta.width, height: meta.height };
}

describe.skipIf(!present)('RunService on the real uint8 VGG19 and 64-px Tübingen / Starry Night', () => {
  const studio = useRunService();

  it('runs a request to the end: queued, started, progress with decodable JPEG previews, done; the image exports', async () => {
    const runId = await studio.started(await tubingenStarryRequest(testSettings({ iterations: 10 })));
    const done = (await studio.log.end(runId)) as Of<'done'>;
    expect(done.type).toBe('done');
    const events = studio.log.of(runId);
    expect(events.map((e) => e.type).filter((t, i, all) => t !== all[i - 1])).toEqual(['queued', 'plan', 'started', 'progress', 'done']);
    expect(events[0]).toEqual({ runId, type: 'queued', position: 0 });
    // 64 px fits anywhere: the whole image at once, one scale, steerable, no notice.
    expect(events[1]).toEqual({ runId, type: 'plan', plan: { mode: 'whole', sizePx: 64, estimateBytes: expect.any(Number) }, iterations: 10, steerable: true, reason: null });
    expect(events[2]).toMatchObject({ type: 'started', width: 64, height: 64, device: 'cpu', fallbackReason: null });

    const progress = events.filter((e): e is Of<'progress'> => e.type === 'progress');
    expect(progress.map((p) => p.loss.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(progress.every((p) => p.iterations === 10 && Number.isFinite(p.loss.total) && p.msPerIteration > 0)).toBe(true);
    expect(Object.keys(progress[0]!.loss.style)).toEqual(['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1']);
    // Each point carries the terms' shares of its total (what the chart plots): they add up to it.
    for (const { loss } of progress) {
      const w = loss.weighted!;
      const sum = [...Object.values(w.style), ...Object.values(w.content), w.tv].reduce((a, b) => a + b, 0);
      expect(sum / loss.total).toBeCloseTo(1, 4);
    }
    // The first and the last always carry a preview; in between, at most one per 250 ms.
    expect(progress[0]!.preview).not.toBeNull();
    expect(progress.at(-1)!.preview).not.toBeNull();
    expect(await jpegSize(progress[0]!.preview!.jpeg)).toEqual({ format: 'jpeg', width: 64, height: 64 });
    const times = studio.log.entries.filter((e) => e.event.runId === runId && e.event.type === 'progress').map((e) => e.atMs);
    const spanMs = times.at(-1)! - times[0]!;
    expect(progress.filter((p) => p.preview).length).toBeLessThanOrEqual(2 + Math.ceil(spanMs / 250) + 1);

    expect(done).toMatchObject({ iterations: 10, stopped: false, final: { width: 64, height: 64 } });
    expect(await jpegSize(done.final.jpeg)).toEqual({ format: 'jpeg', width: 64, height: 64 });
    expect(done.loss.total).toBeLessThan(progress[0]!.loss.total);

    const exports = new ExportService(studio.service);
    const pngFile = await exports.exportImage({ runId, format: 'png', sizePx: null });
    expect(pngFile.ok && (await jpegSize(pngFile.value.bytes))).toEqual({ format: 'png', width: 64, height: 64 });
    const bigJpeg = await exports.exportImage({ runId, format: 'jpeg', sizePx: 160 });
    expect(bigJpeg.ok && (await jpegSize(bigJpeg.value.bytes))).toEqual({ format: 'jpeg', width: 160, height: 160 });
  });

  it('pauses after the current iteration, exports the current image while paused, and resumes to the end', async () => {
    const runId = await studio.started(await tubingenStarryRequest(testSettings({ iterations: 25 })));
    await studio.log.next(runId, 'progress', (e) => (e as Of<'progress'>).loss.iteration >= 2);
    expect(await studio.service.pauseRun({ runId })).toEqual({ ok: true, value: null });
    const paused = (await studio.log.next(runId, 'paused')) as Of<'paused'>;
    const countAtPause = studio.log.of(runId).filter((e) => e.type === 'progress').length;
    expect(countAtPause).toBe(paused.iteration);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(studio.log.of(runId).filter((e) => e.type === 'progress').length).toBe(countAtPause);

    const current = await new ExportService(studio.service).exportImage({ runId, format: 'png', sizePx: null });
    expect(current.ok && (await jpegSize(current.value.bytes))).toEqual({ format: 'png', width: 64, height: 64 });

    expect(await studio.service.resumeRun({ runId })).toEqual({ ok: true, value: null });
    expect(await studio.log.next(runId, 'resumed')).toMatchObject({ iteration: paused.iteration });
    expect(await studio.log.end(runId)).toMatchObject({ type: 'done', iterations: 25, stopped: false });
  });

  it('stops mid-run: done with stopped: true and the image so far', async () => {
    const runId = await studio.started(await tubingenStarryRequest(testSettings({ iterations: 500 })));
    await studio.log.next(runId, 'progress', (e) => (e as Of<'progress'>).loss.iteration >= 3);
    expect(await studio.service.stopRun({ runId })).toEqual({ ok: true, value: null });
    const done = (await studio.log.end(runId)) as Of<'done'>;
    expect(done).toMatchObject({ type: 'done', stopped: true });
    expect(done.iterations).toBeGreaterThanOrEqual(3);
    expect(done.iterations).toBeLessThan(500);
    // Controls that race the end of a run are no-ops, not errors.
    expect(await studio.service.stopRun({ runId })).toEqual({ ok: true, value: null });
    expect(await studio.service.pauseRun({ runId: 'run-999-ffff' })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_RUN' } });
  });

  it('queues runs: the second waits (position 1) and starts after the first is done; a queued run can be stopped', async () => {
    const request = await tubingenStarryRequest(testSettings({ iterations: 6, styleWeight: 2 }));
    const first = await studio.started(request);
    const second = await studio.started(request);
    const third = await studio.started(request);
    // A run of the previous test may still be winding down, so positions are checked relative to each other.
    const secondQueued = (await studio.log.next(second, 'queued')) as Of<'queued'>;
    expect(secondQueued.position).toBeGreaterThanOrEqual(1);
    expect(await studio.log.next(third, 'queued')).toMatchObject({ position: secondQueued.position + 1 });
    expect(await studio.service.stopRun({ runId: third })).toEqual({ ok: true, value: null });
    expect(await studio.log.end(third)).toMatchObject({ type: 'error', error: { code: 'CANCELED' } });

    await studio.log.end(first);
    const secondStarted = await studio.log.next(second, 'started');
    await studio.log.end(second);
    const order = studio.log.entries.map((e) => e.event);
    expect(order.indexOf(secondStarted)).toBeGreaterThan(order.findIndex((e) => e.runId === first && e.type === 'done'));
    expect(studio.log.of(second).at(-1)).toMatchObject({ type: 'done', iterations: 6 });
    expect(studio.log.of(third).some((e) => e.type === 'started')).toBe(false);
  });

  it('applies a weight change at the next iteration: content weight 0 drops the content term from the total', async () => {
    // Raw (unnormalised) weights make the total checkable from the reported unweighted terms.
    const settings = testSettings({ iterations: 16, normalize: false, styleWeight: 1e-8, contentWeight: 1, tvWeight: 0.1 });
    const runId = await studio.started(await tubingenStarryRequest(settings));
    await studio.log.next(runId, 'progress', (e) => (e as Of<'progress'>).loss.iteration >= 3);
    expect(await studio.service.updateRunSettings({ runId, settings: { ...settings, contentWeight: 0 } })).toEqual({ ok: true, value: null });
    await studio.log.end(runId);

    const weighted = (p: LossPoint, contentWeight: number): number =>
      1e-8 * Object.values(p.style).reduce((a, b) => a + b, 0) + contentWeight * Object.values(p.content).reduce((a, b) => a + b, 0) + 0.1 * p.tv;
    const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-3 * Math.abs(b);
    const phases = studio.log
      .of(runId)
      .filter((e): e is Of<'progress'> => e.type === 'progress' && e.loss.iteration > 1)
      .map((p) => (near(p.loss.total, weighted(p.loss, 1)) ? 'with' : near(p.loss.total, weighted(p.loss, 0)) ? 'without' : `neither@${p.loss.iteration}`));
    // Every iteration is one or the other, all "with" before the change and all "without" after it.
    expect(phases.every((p) => p === 'with' || p === 'without')).toBe(true);
    const switchAt = phases.indexOf('without');
    expect(switchAt).toBeGreaterThan(0);
    expect(phases.slice(switchAt).every((p) => p === 'without')).toBe(true);
    expect(studio.log.of(runId).some((e) => e.type === 'rebuilt')).toBe(false);
  });

  it('rebuilds the graph when a layer it lacks is turned on, and continues to the requested iteration count', async () => {
    const settings = testSettings({ iterations: 14, layers: layers(['block1_conv1'], ['block2_conv2']) });
    const runId = await studio.started(await tubingenStarryRequest(settings));
    await studio.log.next(runId, 'progress', (e) => (e as Of<'progress'>).loss.iteration >= 3);
    const deeper = { ...settings, layers: layers(['block1_conv1', 'block4_conv1'], ['block2_conv2']) };
    expect(await studio.service.updateRunSettings({ runId, settings: deeper })).toEqual({ ok: true, value: null });
    const rebuilt = (await studio.log.next(runId, 'rebuilt')) as Of<'rebuilt'>;
    expect(rebuilt.reason).toMatch(/block4_conv1 \(style\) is not in the current graph/);
    expect(rebuilt.iteration).toBeGreaterThanOrEqual(3);
    const done = (await studio.log.end(runId)) as Of<'done'>;
    expect(done).toMatchObject({ type: 'done', iterations: 14, stopped: false });

    const progress = studio.log.of(runId).filter((e): e is Of<'progress'> => e.type === 'progress');
    // One progress per iteration, 1..14, no gap or repeat across the rebuild.
    expect(progress.map((p) => p.loss.iteration)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    for (const p of progress) {
      expect('block4_conv1' in p.loss.style).toBe(p.loss.iteration > rebuilt.iteration);
    }
    expect(studio.log.of(runId).filter((e) => e.type === 'started')).toHaveLength(1);
  });

  // Malformed payloads never get here: the transports' dispatch refuses them (schemas.test.ts, hostile-ipc.test.ts).
  it('reports undecodable images as NOT_AN_IMAGE, and keeps working', async () => {
    const good = await tubingenStarryRequest(testSettings({ iterations: 3 }));
    const notAnImage = await studio.started({ ...good, content: { name: 'notes.txt', bytes: new TextEncoder().encode('definitely not a picture') } });
    expect(await studio.log.end(notAnImage)).toMatchObject({ type: 'error', error: { code: 'NOT_AN_IMAGE', message: expect.stringContaining('notes.txt') } });
    const truncated = await studio.started({ ...good, styles: [{ image: { name: 'half.png', bytes: good.styles[0]!.image.bytes.slice(0, 200) }, blend: 1 }] });
    expect(await studio.log.end(truncated)).toMatchObject({ type: 'error', error: { code: 'NOT_AN_IMAGE', message: expect.stringContaining('half.png') } });

    const next = await studio.started(good);
    expect(await studio.log.end(next)).toMatchObject({ type: 'done', iterations: 3 });
    expect(await new ExportService(studio.service).exportImage({ runId: notAnImage, format: 'png', sizePx: null })).toMatchObject({ ok: false, error: { code: 'NO_IMAGE' } });
  });
});

describe('RunService without weights or with a failing worker', () => {
  const request = {
    content: { name: 'c.png', bytes: new Uint8Array([1]) },
    styles: [{ image: { name: 's.png', bytes: new Uint8Array([1]) }, blend: 1 }],
    settings: testSettings(),
  };

  it('answers WEIGHTS_NOT_FOUND with the help sentence when there are no weights', async () => {
    const service = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: null, help: 'Put the weights in /x.' }) });
    expect(await service.startRun(request)).toEqual({ ok: false, error: { code: 'WEIGHTS_NOT_FOUND', message: 'Put the weights in /x.' } });
    await service.dispose();
    expect(await service.startRun(request)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
  });

  it('turns a worker that throws or exits into run error events, and each next run gets a fresh worker', async () => {
    const service = new RunService({
      worker: { url: pathToFileURL(path.join(REPO_ROOT, 'tests', 'helpers', 'crashing-worker.mjs')) },
      weights: async () => ({ path: '/nowhere' }),
    });
    const log = new EventLog(service);
    const thrown = await started(service, request);
    const exited = await started(service, { ...request, settings: testSettings({ seed: 13 }) });
    expect(await log.end(thrown)).toMatchObject({ type: 'error', error: { code: 'WORKER_CRASHED', message: expect.stringContaining('boom') } });
    expect(await log.end(exited)).toMatchObject({ type: 'error', error: { code: 'WORKER_CRASHED', message: expect.stringContaining('exit code 3') } });
    await service.dispose();
  });
});
