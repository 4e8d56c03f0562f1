// `nst stylize … --video` and `nst video FRAMES_DIR -o OUT` as a user runs them: real 64-px runs, the videos read
// back with ffprobe, the temp frame spool gone afterwards, and the one-line errors.

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/output.js';
import { NstError } from '../../src/engine/errors.js';
import { RUN_PRESETS } from '../../src/shared/studio-settings.js';
import { jsonLines, runNst } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { decodeFrame, decodePng, findProbeTools, probeVideo, psnr } from '../helpers/video-probe.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const WEIGHTS = ['data', 'vgg19-imagenet-uint8'] as const;
const CONTENT = ['fixtures', 'content_tubingen_64x64.png'] as const;
const STYLE = ['fixtures', 'style_starry_night_64x64.png'] as const;
const dataPresent = hasShared(...WEIGHTS) && hasShared(...CONTENT) && hasShared(...STYLE);
const tools = await findProbeTools();
if ('reason' in tools) console.warn(`[video cli] ${tools.reason}: the CLI video tests are skipped.`);
const probe = 'reason' in tools ? null : tools;

const tempDir = useTempDirs();
const stylizeArgs = (output: string): string[] => [
  'stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', output,
  '--weights', sharedPath(...WEIGHTS), '--size', '64', '--device', 'cpu', '--threads', '2', '--json',
];

describe.skipIf(!dataPresent || !probe)('nst stylize --video and nst video on a real 64-px run', () => {
  const { ffprobe, ffmpeg } = probe ?? { ffprobe: '', ffmpeg: '' };

  it('--preset single-layer-study --layer block3_conv2 --video OUT.webm: plain gradient steps on one layer, 4 frames + 1 s held at 10 fps, spool removed', async () => {
    const dir = tempDir('nst-cli-video-');
    const scratch = tempDir('cli-tmp-'); // TMPDIR of the run: where its frame spool (nst-frames-…) lives and must be gone from
    const video = path.join(dir, 'seed.webm');
    const result = await runNst([...stylizeArgs(path.join(dir, 'seed.png')), '--preset', 'single-layer-study', '--layer', 'block3_conv2', '--iterations', '30', '--video', video], {
      env: { TMPDIR: scratch },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    const iterations = lines.filter((l) => typeof l.iteration === 'number');
    // The preset: block3_conv2's style alone (no content layer), plain gradient steps from the content image.
    expect(Object.keys(iterations[0]!.style as object)).toEqual(['block3_conv2']);
    expect(iterations[0]!.content).toEqual({});
    expect(iterations).toHaveLength(30);
    const done = lines.at(-1)!;
    expect(done).toMatchObject({ done: true, iterations: 30, video: { output: video, format: 'webm', width: 64, height: 64, fps: 10, frames: 14, capturedFrames: 4, heldFrames: 10, seconds: 1.4 } });
    const probed = await probeVideo(ffprobe, video);
    expect(probed).toMatchObject({ codec: 'vp9', width: 64, height: 64, frames: 14, fps: 10 });
    expect(probed.duration).toBeCloseTo(1.4, 2);
    expect(psnr(await decodePng(path.join(dir, 'seed.png')), await decodeFrame(ffmpeg, video, 13))).toBeGreaterThan(30);
    expect(readdirSync(scratch).filter((name) => name.startsWith('nst-'))).toEqual([]);
  });

  it('--save-every snapshots keep their own cadence beside --video; nst video turns those snapshots into a captioned GIF', async () => {
    const dir = tempDir('nst-cli-video-');
    const snapshots = path.join(dir, 'snapshots');
    const mp4 = path.join(dir, 'run.mp4');
    const run = await runNst([
      ...stylizeArgs(path.join(dir, 'run.png')), '--optimizer', 'gd', '--iterations', '30', '--style-layers', 'block2_conv1', '--content-layers', 'block2_conv1',
      '--save-every', '15', '--frames-dir', snapshots, '--video', mp4, '--frame-every', '10', '--hold', '0', '--fps', '5',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(readdirSync(snapshots).sort()).toEqual(['frame_000001.png', 'frame_000015.png', 'frame_000030.png']);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ video: { frames: 4, heldFrames: 0, fps: 5, seconds: 0.8 } });
    expect(await probeVideo(ffprobe, mp4)).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', frames: 4, fps: 5 });

    const gif = path.join(dir, 'snapshots.gif');
    const encoded = await runNst(['video', snapshots, '-o', gif, '--fps', '4', '--hold', '0.5', '--caption', '--json']);
    expect(encoded.stderr).toBe('');
    expect(encoded.code).toBe(0);
    const lines = jsonLines(encoded.stdout);
    expect(lines.some((l) => (l.video as { phase?: string } | undefined)?.phase === 'palette')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ done: true, output: gif, format: 'gif', width: 64, height: 64, frames: 5, capturedFrames: 3, heldFrames: 2, seconds: 1.25 });
    const probed = await probeVideo(ffprobe, gif);
    expect(probed).toMatchObject({ codec: 'gif', width: 64, height: 64, frames: 5 });
    expect(probed.duration).toBeCloseTo(1.25, 1);
  });
});

describe('nst video errors', () => {
  it('a missing frames folder, an unknown video extension and --layer without a preset each get one line and their exit code', async () => {
    const dir = tempDir('nst-cli-video-err-');
    const missing = await runNst(['video', path.join(dir, 'nope'), '-o', path.join(dir, 'x.mp4')]);
    expect(missing).toMatchObject({ code: 3, stdout: '' });
    expect(missing.stderr).toBe(`nst: No frames folder at ${path.join(dir, 'nope')}.\n`);

    const avi = await runNst(['video', dir, '-o', path.join(dir, 'x.avi')]);
    expect(avi.code).toBe(2);
    expect(avi.stderr).toBe(`nst: Cannot tell the video format of ${path.join(dir, 'x.avi')}: use a .mp4, .webm or .gif name.\n`);

    const layer = await runNst(['stylize', 'a.png', 'b.png', '-o', path.join(dir, 'x.png'), '--layer', 'block3_conv2']);
    expect(layer.code).toBe(2);
    expect(layer.stderr).toBe('nst: --layer: only with --preset single-layer-study; otherwise use --style-layers.\n');

    const preset = await runNst(['stylize', 'a.png', 'b.png', '-o', path.join(dir, 'x.png'), '--preset', 'seed']);
    expect(preset.code).toBe(2);
    expect(preset.stderr).toBe(`nst: --preset: "seed" is not one of ${RUN_PRESETS.map((p) => p.id).join(', ')}.\n`);
  });

  it('FFMPEG_NOT_FOUND exits with its own code, 7', () => {
    expect(exitCodeFor(new NstError('FFMPEG_NOT_FOUND', 'No usable ffmpeg found.'))).toBe(7);
  });

  it.skipIf(!probe)('an --ffmpeg that does not exist is reported in one line and the next ffmpeg found is used', async () => {
    const dir = tempDir('nst-cli-video-ff-');
    const frames = path.join(dir, 'frames');
    const { FrameSpool } = await import('../../src/engine/video/frames.js');
    const spool = await FrameSpool.create({ dir: frames });
    await spool.add({ width: 5, height: 3, data: new Float32Array(45).fill(200) }, 0);
    const result = await runNst(['video', frames, '-o', path.join(dir, 'x.mp4'), '--ffmpeg', '/nonexistent/ffmpeg']);
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^nst: the ffmpeg setting \(\/nonexistent\/ffmpeg\): \/nonexistent\/ffmpeg does not exist; using \S+ \((ffmpeg-static|@ffmpeg-installer\/ffmpeg|path)\) instead\.$/);
    expect(lines[1]).toMatch(/^nst: wrote .*x\.mp4 \(mp4, 6x4, 11 frames at 10 fps = 1.1 s; ffmpeg from /);
  });
});
