// The Video tab's job service (video-job-service.ts) on a real clip: 3 frames of the shared pan clip made into an MP4
// here, painted at 64 px with 2-3 iterations a frame on VGG19's first three blocks in the job worker; events in
// order, the frames written, Stop then resume continuing from the last finished frame, the MP4 read by ffprobe.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { VideoJobService } from '../../src/main/services/video-job-service.js';
import type { StartVideoJobRequest, VideoJobEvent, VideoJobStatus } from '../../src/shared/api.js';
import { layers, testSettings, tsJobWorker } from '../helpers/studio.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { findProbeTools, probeVideo } from '../helpers/video-probe.js';

const run = promisify(execFile);
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
    const clip = path.join(temp, 'pan.mp4');
    await run(ffmpeg, ['-v', 'error', '-framerate', '12', '-i', path.join(sharedPath(...CLIP), 'frame_%04d.png'), '-frames:v', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip]);
    const root = path.join(temp, 'data');
    const service = await VideoJobService.open({
      worker: tsJobWorker(), root, threads: 1, previewIntervalMs: 0,
      weights: async () => ({ path: sharedPath(...WEIGHTS), origin: 'argument', source: 'test' }),
      ffmpegPath: () => ffmpeg,
    });
    const events = new Events(service);
    const request: StartVideoJobRequest = {
      clip: { name: 'pan.mp4', bytes: new Uint8Array(readFileSync(clip)) },
      styles: [{ image: { name: 'starry.png', bytes: new Uint8Array(readFileSync(sharedPath(...STYLE))) }, blend: 1 }],
      settings: testSettings({ layers: layers(['block1_conv1', 'block2_conv1', 'block3_conv1'], ['block3_conv2']) }),
      video: { iterations: 2, firstIterations: 3, temporalWeight: 200, format: 'mp4' },
    };
    try {
      const started = await service.startVideoJob(request);
      expect(started).toMatchObject({ ok: true, value: { state: 'running', clipName: 'pan.mp4' } });
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
