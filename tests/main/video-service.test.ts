// The studio's video export service: a run's spool to a file or to bytes, progress events, cancel, one export
// per run, errors as data, the ffmpeg status line and pruning old spools.

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from '../../src/engine/video/ffmpeg.js';
import { FrameSpool } from '../../src/engine/video/frames.js';
import { VideoService, pruneRunFrames, runFramesDir } from '../../src/main/services/video-service.js';
import type { ExportVideoRequest, VideoExportEvent } from '../../src/shared/api.js';
import { DEFAULT_VIDEO_SETTINGS } from '../../src/shared/studio-settings.js';
import { DEFAULT_FPS, DEFAULT_HOLD_SECONDS } from '../../src/engine/video/export.js';
import { DEFAULT_FRAME_EVERY } from '../../src/engine/video/frames.js';

const ffmpegFound = await resolveFfmpeg().then(() => true, (error: Error) => {
  console.warn(`[video-service] ${error.message.slice(0, 100)}…: export tests are skipped.`);
  return false;
});

let root: string;
let out: string;

/** A spool of `count` 24x16 frames (a ramp that brightens) for run `runId`. */
async function spoolFor(runId: string, count: number): Promise<void> {
  const spool = await FrameSpool.create({ dir: runFramesDir(root, runId) });
  for (let i = 0; i < count; i++) await spool.add({ width: 24, height: 16, data: new Float32Array(3 * 24 * 16).fill(40 + 50 * i) }, i * 10, 1 / (i + 1));
  await spool.setContent({ width: 24, height: 16, data: new Float32Array(3 * 24 * 16).fill(128) });
}

const request = (runId: string, overrides: Partial<ExportVideoRequest> = {}): ExportVideoRequest => ({
  runId, format: 'mp4', fps: 10, holdFinalSeconds: 1, sideBySide: false, caption: false, ...overrides,
});

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'nst-video-service-'));
  out = path.join(root, 'out');
  await import('node:fs/promises').then((fs) => fs.mkdir(out));
  await spoolFor('run-1', 4);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('VideoService', () => {
  it('the studio\'s video defaults are the engine\'s', () => {
    expect(DEFAULT_VIDEO_SETTINGS).toMatchObject({ fps: DEFAULT_FPS, holdFinalSeconds: DEFAULT_HOLD_SECONDS, frameEvery: DEFAULT_FRAME_EVERY });
  });

  // Malformed requests stop at the transports' dispatch (schemas.test.ts); what reaches the service is checked for what it is.
  it('refuses an unknown run and a run id that is not a folder name, as data', async () => {
    const service = new VideoService({ root });
    expect(await service.exportVideo(request('run-2'), path.join(out, 'x.mp4'))).toMatchObject({ ok: false, error: { code: 'NO_FRAMES' } });
    expect(await service.exportVideo(request('../run-1'), path.join(out, 'x.mp4'))).toMatchObject({ ok: false, error: { code: 'NO_FRAMES' } });
    expect(() => runFramesDir(root, '../x')).toThrow(RangeError);
    expect(service.cancelExport({ runId: 'run-1' })).toMatchObject({ ok: false, error: { code: 'NOT_EXPORTING' } });
    expect(await service.hasFrames('run-1')).toBe(true);
    expect(await service.hasFrames('run-2')).toBe(false);
  });

  it('reports where ffmpeg comes from, and the user setting it passed over', async () => {
    const status = await new VideoService({ root, ffmpegPath: () => '/nonexistent/ffmpeg' }).ffmpegStatus();
    if (!ffmpegFound) {
      expect(status).toMatchObject({ ok: true, value: { found: false, help: expect.stringContaining('ffmpeg') } });
      return;
    }
    expect(status).toMatchObject({ ok: true, value: { found: true, version: expect.any(String) } });
    if (status.ok && status.value.found) expect(status.value.notes[0]).toContain('/nonexistent/ffmpeg does not exist');
  });

  it.skipIf(!ffmpegFound)('exports a run to a file with progress then done; side-by-side doubles the width', async () => {
    const service = new VideoService({ root, progressIntervalMs: 0 });
    const events: VideoExportEvent[] = [];
    service.onEvent((e) => events.push(e));
    const output = path.join(out, 'run-1.mp4');
    const result = await service.exportVideo(request('run-1', { sideBySide: true, caption: true }), output);
    expect(result).toMatchObject({
      ok: true,
      value: { path: output, fileName: 'run-1.mp4', format: 'mp4', mimeType: 'video/mp4', width: 48, height: 16, fps: 10, frames: 14, durationSeconds: 1.4 },
    });
    expect(result.ok && result.value.sizeBytes).toBeGreaterThan(100);
    expect(events.at(-1)).toMatchObject({ runId: 'run-1', type: 'done' });
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ fraction: 1 });
  });

  it.skipIf(!ffmpegFound)('gives the browser host the bytes of a GIF and keeps no file', async () => {
    const service = new VideoService({ root });
    const result = await service.exportVideoBytes(request('run-1', { format: 'gif', holdFinalSeconds: 0 }));
    expect(result).toMatchObject({ ok: true, value: { info: { path: null, fileName: 'neural-style-run-1.gif', mimeType: 'image/gif', frames: 4 } } });
    expect(result.ok && Buffer.from(result.value.bytes.subarray(0, 6)).toString('latin1')).toBe('GIF89a');
  });

  it.skipIf(!ffmpegFound)('cancel stops the export, emits canceled and leaves no file; a second export of the same run meanwhile is refused', async () => {
    const service = new VideoService({ root, progressIntervalMs: 0 });
    const events: VideoExportEvent[] = [];
    const output = path.join(out, 'cancelled.webm');
    let second: Promise<unknown> | null = null;
    service.onEvent((e) => {
      events.push(e);
      if (e.type === 'progress' && !second) {
        second = service.exportVideo(request('run-1'), path.join(out, 'second.mp4'));
        expect(service.cancelExport({ runId: 'run-1' })).toEqual({ ok: true, value: null });
      }
    });
    const result = await service.exportVideo(request('run-1', { format: 'webm', fps: 60, holdFinalSeconds: 60 }), output);
    expect(result).toMatchObject({ ok: false, error: { code: 'ABORTED' } });
    expect(await second).toMatchObject({ ok: false, error: { code: 'EXPORT_BUSY' } });
    expect(events.at(-1)).toEqual({ runId: 'run-1', type: 'canceled' });
    expect(existsSync(output)).toBe(false);
    expect((await readdir(out)).filter((n) => n.includes('cancelled'))).toEqual([]);
  });

  it('prunes all but the newest spools, never a protected one', async () => {
    for (const [i, runId] of ['old-a', 'old-b', 'new-c'].entries()) {
      await spoolFor(runId, 1);
      const when = new Date(Date.now() - (10 - i) * 60_000);
      await utimes(runFramesDir(root, runId), when, when);
    }
    const removed = await pruneRunFrames(root, 2, ['old-a']);
    expect(removed.sort()).toEqual(['old-b']);
    expect((await readdir(path.join(root, 'run-frames'))).sort()).toEqual(['new-c', 'old-a', 'run-1']);
  });
});
