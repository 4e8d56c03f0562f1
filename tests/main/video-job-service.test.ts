// The Video tab's job service (video-job-service.ts) on a real clip: 3 frames of the shared pan clip sent as a folder's
// frames, painted at 64 px with 2-3 iterations a frame on VGG19's first three blocks in the job worker; events in
// order, the frames written, Stop then resume continuing from the last finished frame, the MP4 read by ffprobe.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VideoJobService } from '../../src/main/services/video-job-service.js';
import type { StartVideoJobRequest, VideoJobEvent, VideoJobStatus } from '../../src/shared/api.js';
import { validateRequest } from '../../src/shared/schemas.js';
import { valid } from '../helpers/api-payloads.js';
import { layers, testSettings, tsJobWorker } from '../helpers/studio.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { findProbeTools, probeVideo } from '../helpers/video-probe.js';

const WEIGHTS = ['data', 'vgg19-imagenet-block1-3'] as const;
const STYLE = ['data', 'images', 'style_starry_night_64.png'] as const;
const CLIP = ['data', 'video', 'pan_tubingen_160x120'] as const;
const dataPresent = hasShared(...WEIGHTS) && hasShared(...STYLE) && hasShared(...CLIP);
const tools = await findProbeTools();
if ('reason' in tools) console.warn(`[video-job-service] ${tools.reason}: the video job tests are skipped.`);
const probe = 'reason' in tools ? null : tools;

const temp = mkdtempSync(path.join(os.tmpdir(), 'nst-video-job-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The service's events, awaitable. */
class Events {
  readonly all: VideoJobEvent[] = [];
  private waiters: { match: (e: VideoJobEvent) => boolean; resolve: () => void }[] = [];

  constructor(service: VideoJobService) {
    service.onVideoJobEvent((event) => {
      this.all.push(event);
      for (const waiter of [...this.waiters]) {
        if (!waiter.match(event)) continue;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }

  until(match: (e: VideoJobEvent) => boolean, timeoutMs = 60_000): Promise<void> {
    if (this.all.some(match)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such event in ${timeoutMs} ms; last: ${JSON.stringify(this.all.at(-1))}`)), timeoutMs);
      this.waiters.push({ match, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  state(state: VideoJobStatus['state'], since = 0): (e: VideoJobEvent) => boolean {
    return (e) => e.type === 'status' && e.status.state === state && this.all.indexOf(e) >= since;
  }
}

describe.skipIf(!dataPresent || !probe)('the video job service on 3 frames of the pan clip at 64 px', () => {
  const { ffprobe, ffmpeg } = probe ?? { ffprobe: '', ffmpeg: '' };

  it('paints frame by frame with events in order, stops after a frame, resumes from it, and gives an MP4 ffprobe reads', async () => {
    const root = path.join(temp, 'data');
    const service = await VideoJobService.open({
      worker: tsJobWorker(), root, threads: 1, previewIntervalMs: 0,
      weights: async () => ({ path: sharedPath(...WEIGHTS), origin: 'argument', source: 'test' }),
      ffmpegPath: () => ffmpeg,
    });
    const events = new Events(service);
    const request: StartVideoJobRequest = {
      // A folder's frames as the page sends them (the browser test sends a video file), played at 12 fps.
      clip: { kind: 'frames', name: 'pan', fps: 12, frames: [1, 2, 3].map((i) => ({ name: `frame_000${i}.png`, bytes: new Uint8Array(readFileSync(path.join(sharedPath(...CLIP), `frame_000${i}.png`))) })) },
      styles: [{ image: { name: 'starry.png', bytes: new Uint8Array(readFileSync(sharedPath(...STYLE))) }, blend: 1 }],
      settings: testSettings({ layers: layers(['block1_conv1', 'block2_conv1', 'block3_conv1'], ['block3_conv2']) }),
      video: { iterations: 2, firstIterations: 3, temporalWeight: 200, format: 'mp4' },
    };
    try {
      const started = await service.startVideoJob(request);
      expect(started).toMatchObject({ ok: true, value: { state: 'running', clipName: 'pan' } });
      expect(await service.startVideoJob(request)).toMatchObject({ ok: false, error: { code: 'VIDEO_JOB_BUSY' } });

      // Stop as soon as frame 1 is painted: the frame in progress is abandoned, frame 1 stays.
      await events.until((e) => e.type === 'frame' && e.frame === 1);
      await service.stopVideoJob();
      await events.until(events.state('stopped'));
      const stopped = (await service.getVideoJobStatus()) as { ok: true; value: VideoJobStatus };
      expect(stopped.value).toMatchObject({ state: 'stopped', frames: 3, fps: 12, width: 64, height: 48, current: null });
      const doneAtStop = stopped.value.framesDone;
      expect(doneAtStop).toBeGreaterThanOrEqual(1);
      expect(doneAtStop).toBeLessThan(3);
      const jobDir = path.join(root, 'current', 'job');
      expect(readdirSync(jobDir).filter((n) => /^frame_\d{6}\.png$/.test(n))).toHaveLength(doneAtStop);
      expect(await service.getVideoJobOutput()).toMatchObject({ ok: false, error: { code: 'NO_VIDEO_YET' } });

      const mark = events.all.length;
      expect(await service.resumeVideoJob()).toMatchObject({ ok: true, value: { state: 'running' } });
      await events.until(events.state('finished', mark), 120_000);
      const after = events.all.slice(mark);
      // Resumed from the last finished frame: the first frame painted is the next one, none is painted twice.
      const startedFrames = after.flatMap((e) => (e.type === 'status' && e.status.current?.iteration === 0 ? [e.status.current.frame] : []));
      expect([...new Set(startedFrames)]).toEqual(Array.from({ length: 3 - doneAtStop }, (_, i) => doneAtStop + 1 + i));
      expect(after.flatMap((e) => (e.type === 'frame' ? [e.frame] : []))).toEqual(startedFrames.filter((f, i, a) => a.indexOf(f) === i));

      // In order, across the whole job: a frame's progress before its picture, pictures 1, 2, 3, then encoding, then finished.
      const sequence = events.all.map((e) => (e.type === 'frame' ? `frame ${e.frame}` : e.type === 'progress' ? `progress ${e.frame}` : `status ${e.status.state}`));
      expect(sequence.filter((s) => s.startsWith('frame'))).toEqual(['frame 1', 'frame 2', 'frame 3']);
      for (const frame of [1, 2, 3]) expect(sequence.lastIndexOf(`progress ${frame}`)).toBeLessThan(sequence.indexOf(`frame ${frame}`));
      expect(sequence.indexOf('status encoding')).toBeGreaterThan(sequence.indexOf('frame 3'));
      expect(sequence.at(-1)).toBe('status finished');
      const previews = events.all.filter((e) => e.type === 'progress' && e.preview !== null);
      expect(previews.length).toBeGreaterThan(0);
      const pngs = events.all.flatMap((e) => (e.type === 'frame' ? [e.png] : []));
      for (const png of pngs) expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);

      expect(readdirSync(jobDir).filter((n) => /^frame_\d{6}\.png$/.test(n))).toHaveLength(3);
      const frame2 = await service.getVideoJobFrame({ frame: 2 });
      expect(frame2.ok && [...frame2.value.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
      const output = await service.getVideoJobOutput();
      if (!output.ok) throw new Error(output.error.message);
      expect(output.value).toMatchObject({ fileName: 'pan-styled.mp4', mimeType: 'video/mp4' });
      const file = path.join(temp, output.value.fileName);
      writeFileSync(file, output.value.bytes);
      expect(await probeVideo(ffprobe, file)).toMatchObject({ codec: 'h264', width: 64, height: 48, frames: 3, fps: 12 });

      // A studio opened again on the same folder finds the finished job and its video.
      const reopened = await VideoJobService.open({ worker: tsJobWorker(), root, weights: async () => ({ path: null, help: '' }), ffmpegPath: () => ffmpeg });
      expect(await reopened.getVideoJobStatus()).toMatchObject({ ok: true, value: { state: 'finished', framesDone: 3, frames: 3, output: { fileName: 'pan-styled.mp4' } } });
    } finally {
      await service.dispose();
    }
    expect(existsSync(root)).toBe(true);
  }, 180_000);
});

describe('the video job service without painting', () => {
  it('refuses a clip that is neither a video nor frames, no frames, a bad rate and bad per-frame options, naming the field', () => {
    const good = valid('startVideoJob') as StartVideoJobRequest;
    const frames: StartVideoJobRequest['clip'] = { kind: 'frames', name: 'pan', fps: 12, frames: [{ name: 'a.png', bytes: new Uint8Array([1]) }] };
    expect(validateRequest('startVideoJob', good).ok).toBe(true);
    expect(validateRequest('startVideoJob', { ...good, clip: frames }).ok).toBe(true);
    const message = (payload: unknown): string => {
      const result = validateRequest('startVideoJob', payload);
      return result.ok ? 'accepted' : result.error.message;
    };
    expect(message({ ...good, clip: { kind: 'folder', path: '/etc' } })).toMatch(/^startVideoJob\.clip(\.kind)? /);
    expect(message({ ...good, clip: { ...frames, frames: [] } })).toMatch(/^startVideoJob\.clip\.frames must hold at least one frame/);
    expect(message({ ...good, clip: { ...frames, fps: 0 } })).toMatch(/^startVideoJob\.clip\.fps must be ≥ 0\.5/);
    expect(message({ ...good, clip: { kind: 'video', file: { name: 'a.mp4', bytes: new Uint8Array() } } })).toMatch(/^startVideoJob\.clip\.file\.bytes is empty/);
    expect(message({ ...good, video: { ...good.video, iterations: 0 } })).toMatch(/^startVideoJob\.video\.iterations must be at least 1/);
    expect(message({ ...good, video: { ...good.video, format: 'avi' } })).toMatch(/^startVideoJob\.video\.format must be mp4, webm or gif/);
  });

  it('without weights refuses to start in their words; with no job, no frame and no video to give', async () => {
    const root = path.join(temp, 'empty');
    const service = await VideoJobService.open({ worker: tsJobWorker(), root, weights: async () => ({ path: null, help: 'Install the weights.' }), ffmpegPath: () => null });
    expect(await service.startVideoJob(valid('startVideoJob') as StartVideoJobRequest)).toEqual({ ok: false, error: { code: 'WEIGHTS_NOT_FOUND', message: 'Install the weights.' } });
    expect(await service.getVideoJobStatus()).toMatchObject({ ok: true, value: { state: 'empty', frames: 0 } });
    expect(await service.getVideoJobFrame({ frame: 1 })).toMatchObject({ ok: false, error: { code: 'NO_IMAGE_YET' } });
    expect(await service.getVideoJobOutput()).toMatchObject({ ok: false, error: { code: 'NO_VIDEO_YET' } });
    expect(await service.resumeVideoJob()).toMatchObject({ ok: true, value: { state: 'empty' } });
    await service.dispose();
  });
});
