// The studio's timelapse path end to end: a real short run in the job worker spools frames (every N iterations,
// plus the first and last) into runFramesDir, and VideoService turns them into an MP4 that ffprobe reads back.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunService } from '../../src/main/services/run-service.js';
import { VideoService, runFramesDir } from '../../src/main/services/video-service.js';
import { readFramesIndex } from '../../src/engine/video/frame-index.js';
import type { VideoExportEvent } from '../../src/shared/api.js';
import { EventLog, WEIGHTS_DIR, studioDataPresent, testSettings, tsJobWorker, tubingenStarryRequest } from '../helpers/studio.js';
import { findProbeTools, probeVideo } from '../helpers/video-probe.js';

const present = studioDataPresent();
const tools = await findProbeTools();
const reason = !present ? 'the shared uint8 VGG19 weights or fixture images are absent' : 'reason' in tools ? tools.reason : null;
if (reason) console.warn(`[run-timelapse] skipped: ${reason}`);

describe.skipIf(reason !== null)('run worker timelapse spool → VideoService MP4', () => {
  let root: string;
  let service: RunService;
  let log: EventLog;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'nst-timelapse-'));
    service = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 2, frames: { root, keep: 5 } });
    log = new EventLog(service);
  });

  afterAll(async () => {
    await service?.dispose();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('spools iteration 0, every 5th and the last frame of a 12-iteration 64-px run, and exports them as H.264', { timeout: 120_000 }, async () => {
    const request = { ...(await tubingenStarryRequest(testSettings({ iterations: 12 }))), timelapse: { frameEvery: 5 } };
    const started = await service.startRun(request);
    if (!started.ok) throw new Error(started.error.message);
    const runId = started.value.runId;
    expect((await log.end(runId)).type).toBe('done');

    // The spool is complete when 'done' goes out: the index lists every frame, the content image is kept.
    const dir = runFramesDir(root, runId);
    const index = (await readFramesIndex(dir))!;
    expect(index.frames.map((f) => f.iteration)).toEqual([0, 5, 10, 12]);
    expect(index.content).not.toBeNull();
    expect(index.frames.slice(0, -1).every((f) => f.loss !== null && Number.isFinite(f.loss))).toBe(true);

    const videos = new VideoService({ root });
    const events: VideoExportEvent[] = [];
    videos.onEvent((e) => events.push(e));
    expect(await videos.hasFrames(runId)).toBe(true);
    const output = path.join(root, 'timelapse.mp4');
    const exported = await videos.exportVideo({ runId, format: 'mp4', fps: 10, holdFinalSeconds: 0, sideBySide: false, caption: false }, output);
    if (!exported.ok) throw new Error(exported.error.message);
    expect(exported.value).toMatchObject({ path: output, format: 'mp4', width: 64, height: 64, frames: 4 });
    expect((await stat(output)).size).toBe(exported.value.sizeBytes);
    expect(events.at(-1)).toMatchObject({ runId, type: 'done' });

    const probed = await probeVideo((tools as { ffprobe: string }).ffprobe, output);
    expect(probed).toMatchObject({ codec: 'h264', width: 64, height: 64, pixFmt: 'yuv420p', frames: 4 });
    expect(probed.fps).toBeCloseTo(10, 5);
  });

  it('records nothing when the request turns the timelapse off', { timeout: 120_000 }, async () => {
    const request = { ...(await tubingenStarryRequest(testSettings({ iterations: 3 }))), timelapse: null };
    const started = await service.startRun(request);
    if (!started.ok) throw new Error(started.error.message);
    expect((await log.end(started.value.runId)).type).toBe('done');
    const videos = new VideoService({ root });
    expect(await videos.hasFrames(started.value.runId)).toBe(false);
    const refused = await videos.exportVideo({ runId: started.value.runId, format: 'gif', fps: 10, holdFinalSeconds: 0, sideBySide: false, caption: false }, path.join(root, 'x.gif'));
    expect(refused).toMatchObject({ ok: false, error: { code: 'NO_FRAMES' } });
  });
});
