// Timelapse video: a real 30-iteration run spooled every 10 iterations, exported to MP4, WebM and GIF and read
// back with ffprobe and a decoder; cancelling, a missing ffmpeg and odd frame sizes.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { NstError } from '../../src/engine/errors.js';
import { decodeImage, resizeImage, type PlanarImage } from '../../src/engine/io/image.js';
import { initialImage, runStyleTransfer, type RenderEvent, type RunResult, type RunSettings } from '../../src/engine/render/run.js';
import { exportVideo, heldFrameCount, type VideoFormat, type VideoProgress } from '../../src/engine/video/export.js';
import { resolveFfmpeg } from '../../src/engine/video/ffmpeg.js';
import { listFrames, readFramesIndex } from '../../src/engine/video/frame-index.js';
import { FrameRecorder } from '../../src/engine/video/frame-recorder.js';
import { FrameSpool } from '../../src/engine/video/frames.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { crop, decodeFrame, decodePng, findProbeTools, probeVideo, psnr } from '../helpers/video-probe.js';

const WEIGHTS = ['data', 'vgg19-imagenet-uint8'] as const;
const CONTENT = ['fixtures', 'content_tubingen_64x64.png'] as const;
const STYLE = ['fixtures', 'style_starry_night_64x64.png'] as const;
const dataPresent = hasShared(...WEIGHTS) && hasShared(...CONTENT) && hasShared(...STYLE);
const tools = await findProbeTools();
if ('reason' in tools) console.warn(`[video] ${tools.reason}: the video export tests are skipped.`);
const probe = 'reason' in tools ? null : tools;

/** A real run into a spool: GD (the seed's step), every frameEvery iterations plus first and last. */
async function spoolRun(options: { weights: Vgg19Weights; content: PlanarImage; style: PlanarImage; iterations: number; frameEvery: number; stopAt?: number }): Promise<{ spool: FrameSpool; result: RunResult; events: RenderEvent[] }> {
  const spool = await FrameSpool.create({ frameEvery: options.frameEvery });
  const recorder = new FrameRecorder(spool);
  const settings: RunSettings = { ...DEFAULT_RUN_SETTINGS, optimizer: 'gd', iterations: options.iterations, device: 'cpu', threads: 2, reportEvery: 1, imageEvery: recorder.imageEvery };
  recorder.start({ width: options.content.width, height: options.content.height, data: initialImage(settings.init, options.content, [options.style], settings.seed) }, options.content);
  const events: RenderEvent[] = [];
  const { RunController } = await import('../../src/engine/render/run.js');
  const controller = new RunController();
  const result = await runStyleTransfer({ weights: options.weights, content: options.content, styles: [options.style] }, settings, {
    controller,
    onEvent: (event) => {
      events.push(event);
      recorder.onEvent(event);
      if (event.type === 'progress' && event.iteration === options.stopAt) controller.stop();
    },
  });
  await recorder.finish(result);
  return { spool, result, events };
}

describe.skipIf(!dataPresent || !probe)('timelapse video of a real 64-px run (30 iterations, a frame every 10)', () => {
  let spool: FrameSpool;
  let result: RunResult;
  let events: RenderEvent[];
  let weights: Vgg19Weights;
  let content: PlanarImage;
  let style: PlanarImage;
  let outDir: string;
  const { ffprobe, ffmpeg } = probe ?? { ffprobe: '', ffmpeg: '' };

  beforeAll(async () => {
    weights = await loadWeights(sharedPath(...WEIGHTS));
    content = await decodeImage(sharedPath(...CONTENT));
    style = await decodeImage(sharedPath(...STYLE));
    ({ spool, result, events } = await spoolRun({ weights, content, style, iterations: 30, frameEvery: 10 }));
    outDir = await mkdtemp(path.join(os.tmpdir(), 'nst-video-test-'));
  });
  afterAll(async () => {
    await spool?.remove();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('spools frames 0 (the start image), 10, 20 and 30 as PNG files with an index, each with the loss of exactly that image', async () => {
    expect(result.iterations).toBe(30);
    expect(spool.frames.map((f) => f.iteration)).toEqual([0, 10, 20, 30]);
    expect(spool.frames.map((f) => f.file)).toEqual(['frame_000000.png', 'frame_000001.png', 'frame_000002.png', 'frame_000003.png']);
    const index = (await readFramesIndex(spool.dir))!;
    expect(index).toMatchObject({ width: 64, height: 64, format: 'png', frameEvery: 10, content: 'content.png' });
    // The run reports the loss at the start of each iteration: that of the image after the previous one.
    const reported = new Map(events.flatMap((e) => (e.type === 'progress' ? [[e.iteration, e.loss.total] as const] : [])));
    expect(index.frames.map((f) => f.loss)).toEqual([reported.get(1), reported.get(11), reported.get(21), result.finalLoss.total]);
    expect(index.frames[0]!.loss).toBe(result.initialLoss.total);
    // Frame 0 is the start image (content init) and the last is the result, exactly (8-bit PNG).
    expect(psnr(await decodePng(path.join(spool.dir, 'frame_000000.png')), await decodePng(sharedPath(...CONTENT)))).toBe(Infinity);
    const last = await decodePng(path.join(spool.dir, 'frame_000003.png'));
    expect(psnr(last, await decodePng(path.join(spool.dir, 'frame_000000.png')))).toBeLessThan(40);
  });

  const expectations: Record<VideoFormat, { codec: string; pixFmt: RegExp }> = {
    mp4: { codec: 'h264', pixFmt: /^yuv420p$/ },
    webm: { codec: 'vp9', pixFmt: /^yuv420p$/ },
    gif: { codec: 'gif', pixFmt: /^(bgra|pal8)$/ },
  };
  for (const format of ['mp4', 'webm', 'gif'] as const) {
    it(`exports ${format.toUpperCase()}: codec, size, frames captured + held, duration at 10 fps, first and last frames above 30 dB PSNR`, async () => {
      const output = path.join(outDir, `run.${format}`);
      const progress: VideoProgress[] = [];
      const exported = await exportVideo({ framesDir: spool.dir, output, fps: 10, holdFinalSeconds: 1, onProgress: (p) => progress.push(p) });
      const held = heldFrameCount(10, 1);
      expect(held).toBe(10);
      expect(exported).toMatchObject({ output, format, width: 64, height: 64, capturedFrames: 4, heldFrames: held, totalFrames: 4 + held, durationSeconds: 1.4 });
      expect(progress.at(-1)).toMatchObject({ fraction: 1 });
      expect(progress.every((p, i) => i === 0 || p.fraction >= progress[i - 1]!.fraction)).toBe(true);

      const video = await probeVideo(ffprobe, output);
      expect(video.codec).toBe(expectations[format].codec);
      expect(video.pixFmt).toMatch(expectations[format].pixFmt);
      expect([video.width, video.height]).toEqual([64, 64]);
      expect(video.frames).toBe(4 + held);
      expect(video.fps).toBe(10);
      expect(video.duration).toBeCloseTo((4 + held) / 10, 2);

      const first = await decodePng(path.join(spool.dir, 'frame_000000.png'));
      const last = await decodePng(path.join(spool.dir, 'frame_000003.png'));
      const scores = {
        first: psnr(first, await decodeFrame(ffmpeg, output, 0)),
        lastCaptured: psnr(last, await decodeFrame(ffmpeg, output, 3)),
        lastHeld: psnr(last, await decodeFrame(ffmpeg, output, 4 + held - 1)),
      };
      console.log(`[video] ${format}: PSNR first ${scores.first.toFixed(2)} dB, last ${scores.lastCaptured.toFixed(2)} dB, last held ${scores.lastHeld.toFixed(2)} dB`);
      for (const score of Object.values(scores)) expect(score).toBeGreaterThan(30);
    });
  }

  it('side-by-side puts the content image left of each frame; the caption changes only a strip along the bottom', async () => {
    const output = path.join(outDir, 'side-by-side.mp4');
    const exported = await exportVideo({ framesDir: spool.dir, output, sideBySide: true, caption: true, holdFinalSeconds: 0 });
    expect([exported.width, exported.height, exported.totalFrames]).toEqual([128, 64, 4]);
    const video = await probeVideo(ffprobe, output);
    expect([video.width, video.height, video.frames]).toEqual([128, 64, 4]);
    const decoded = await decodeFrame(ffmpeg, output, 3);
    const photo = await decodePng(sharedPath(...CONTENT));
    const last = await decodePng(path.join(spool.dir, 'frame_000003.png'));
    // The top three quarters are untouched by the caption; its strip (a few rows) is darkened and carries white text.
    const above = 48;
    const strip = 6;
    expect(psnr(crop(photo, 0, 0, 64, above), crop(decoded, 0, 0, 64, above))).toBeGreaterThan(30);
    expect(psnr(crop(last, 0, 0, 64, above), crop(decoded, 64, 0, 64, above))).toBeGreaterThan(30);
    expect(psnr(crop(last, 0, 64 - strip, 64, strip), crop(decoded, 64, 64 - strip, 64, strip))).toBeLessThan(20);
  });

  it('cancelling mid-export kills ffmpeg and leaves no partial file (an older file under the name is kept)', async () => {
    const output = path.join(outDir, 'cancelled.mp4');
    await writeFile(output, 'an older export');
    const controller = new AbortController();
    let seen = 0;
    const started = performance.now();
    const exporting = exportVideo({
      framesDir: spool.dir,
      output,
      fps: 60,
      holdFinalSeconds: 60, // 3,600 frames: far more than can be encoded before the first progress report
      onProgress: (p) => {
        seen = p.frame;
        controller.abort();
      },
      signal: controller.signal,
    });
    await expect(exporting).rejects.toMatchObject({ name: 'NstError', code: 'ABORTED' });
    expect(seen).toBeLessThan(3604);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(await readFile(output, 'utf8')).toBe('an older export');
    expect((await readdir(outDir)).filter((name) => name.includes('cancelled.mp4') && name !== 'cancelled.mp4')).toEqual([]);

    const aborted = new AbortController();
    aborted.abort();
    await expect(exportVideo({ framesDir: spool.dir, output: path.join(outDir, 'never.gif'), signal: aborted.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(existsSync(path.join(outDir, 'never.gif'))).toBe(false);
  });

  it('a run stopped early still ends its spool with the image it stopped at; odd sizes (63x47) export, padded to 64x48 for MP4/WebM only', async () => {
    const odd = { content: await resizeImage(content, 63, 47), style: await resizeImage(style, 63, 47) };
    const stopped = await spoolRun({ weights, ...odd, iterations: 30, frameEvery: 5, stopAt: 12 });
    try {
      expect(stopped.result.stopped).toBe(true);
      expect(stopped.spool.frames.map((f) => f.iteration)).toEqual([0, 5, 10, 12]);
      expect(stopped.spool.frames.at(-1)!.loss).toBe(stopped.result.finalLoss.total);
      const last = await decodePng(path.join(stopped.spool.dir, 'frame_000003.png'));
      expect([last.width, last.height]).toEqual([63, 47]);
      for (const [format, size] of [['mp4', [64, 48]], ['webm', [64, 48]], ['gif', [63, 47]]] as const) {
        const output = path.join(outDir, `odd.${format}`);
        const exported = await exportVideo({ framesDir: stopped.spool.dir, output, holdFinalSeconds: 0.5 });
        const video = await probeVideo(ffprobe, output);
        expect([exported.width, exported.height], format).toEqual(size);
        expect([video.width, video.height, video.frames], format).toEqual([...size, 4 + 5]);
        const score = psnr(last, await decodeFrame(ffmpeg, output, 8));
        console.log(`[video] odd 63x47 ${format}: last frame PSNR ${score.toFixed(2)} dB`);
        expect(score, format).toBeGreaterThan(30);
      }
    } finally {
      await stopped.spool.remove();
    }
  });
});

describe('finding ffmpeg', () => {
  const absent = { ffmpegStatic: () => null, ffmpegInstaller: () => { throw 'Could not find ffmpeg executable'; } };

  it('with no setting that works, no npm binary and nothing on PATH, says what it tried and how to get ffmpeg', async () => {
    const attempt = resolveFfmpeg({ settingPath: '/nonexistent/ffmpeg', env: { PATH: '' }, packages: absent });
    await expect(attempt).rejects.toBeInstanceOf(NstError);
    const error = (await attempt.catch((e: unknown) => e)) as NstError;
    expect(error.code).toBe('FFMPEG_NOT_FOUND');
    expect(error.message).toMatch(/^No usable ffmpeg found \(tried the ffmpeg setting \(\/nonexistent\/ffmpeg\): \/nonexistent\/ffmpeg does not exist; ffmpeg-static: no binary for this platform; @ffmpeg-installer\/ffmpeg: Could not find ffmpeg executable; `ffmpeg` on PATH: not found\)\./);
    expect(error.message).toContain('sudo apt install ffmpeg');
    expect(error.message).toContain('--ffmpeg PATH');
  });

  it('exportVideo gives the same FFMPEG_NOT_FOUND before writing anything', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nst-noffmpeg-'));
    const spool = await FrameSpool.create({ dir: path.join(dir, 'frames') });
    await spool.add({ width: 3, height: 3, data: new Float32Array(27).fill(128) }, 0);
    await expect(
      exportVideo({ framesDir: spool.dir, output: path.join(dir, 'out.mp4'), ffmpeg: { settingPath: '/nonexistent/ffmpeg', env: { PATH: '' }, packages: absent } }),
    ).rejects.toMatchObject({ code: 'FFMPEG_NOT_FOUND' });
    expect(await readdir(dir)).toEqual(['frames']);
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!probe)('tries the setting first, then ffmpeg-static, @ffmpeg-installer/ffmpeg and PATH, passing over what does not run', async () => {
    const system = path.join(path.dirname(probe?.ffmpeg ?? ''), 'ffmpeg');
    const bin = path.dirname(system);
    expect(await resolveFfmpeg({ settingPath: system, packages: absent })).toMatchObject({ path: system, source: 'setting', skipped: [] });
    expect(await resolveFfmpeg({ packages: { ...absent, ffmpegStatic: () => system } })).toMatchObject({ source: 'ffmpeg-static' });
    expect(await resolveFfmpeg({ packages: { ...absent, ffmpegInstaller: () => system } })).toMatchObject({ source: '@ffmpeg-installer/ffmpeg' });
    const notFfmpeg = process.execPath; // runs, but is not ffmpeg
    const viaPath = await resolveFfmpeg({ settingPath: notFfmpeg, env: { PATH: bin }, packages: absent });
    expect(viaPath).toMatchObject({ path: system, source: 'path' });
    expect(viaPath.version).toMatch(/\S/);
    expect(viaPath.skipped[0]).toContain(`the ffmpeg setting (${notFfmpeg}): ${notFfmpeg} -version did not answer as ffmpeg does`);
  });
});

describe('frame folders', () => {
  it('lists a plain folder of numbered images (nst stylize --frames-dir output) by the number in their names', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nst-frames-plain-'));
    const spool = await FrameSpool.create({ dir: path.join(dir, 'tmp') });
    await spool.add({ width: 2, height: 2, data: new Float32Array(12) }, 0);
    const png = await readFile(path.join(spool.dir, 'frame_000000.png'));
    for (const name of ['frame_000100.png', 'frame_000020.png', 'frame_000003.png']) await writeFile(path.join(dir, name), png);
    const list = await listFrames(dir);
    expect(list.frames.map((f) => [path.basename(f.path), f.iteration, f.loss])).toEqual([
      ['frame_000003.png', 3, null],
      ['frame_000020.png', 20, null],
      ['frame_000100.png', 100, null],
    ]);
    await expect(listFrames(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(FrameSpool.create({ dir: spool.dir })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('already holds a frame spool') });
    await rm(dir, { recursive: true, force: true });
  });

  it('captures the first frame, every Nth and the last', async () => {
    const spool = await FrameSpool.create({ frameEvery: 10 });
    try {
      const wanted = Array.from({ length: 26 }, (_, i) => i).filter((i) => spool.wants(i, i === 25));
      expect(wanted).toEqual([0, 10, 20, 25]);
      await expect(FrameSpool.create({ frameEvery: 0 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    } finally {
      await spool.remove();
    }
    expect(existsSync(spool.dir)).toBe(false);
  });
});
