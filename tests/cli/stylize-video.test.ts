// `nst stylize-video` as a user runs it: real 64-px jobs of 3 frames of the shared pan clip (2-3 iterations a frame,
// VGG19 to block 3), the videos read back with ffprobe (frames, rate, size, the sound of a clip made here with a
// tone), a job killed with SIGKILL and resumed to frames byte-identical to an uninterrupted job's, the refusals.

import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { jsonLines, runNst, spawnNst } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { findProbeTools, probeVideo } from '../helpers/video-probe.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const run = promisify(execFile);
// VGG19's first three blocks: a job's setup and iterations take a third of the whole network's (4.9 s against 17.6 s).
const WEIGHTS = ['data', 'vgg19-imagenet-block1-3'] as const;
const STYLE = ['data', 'images', 'style_starry_night_64.png'] as const;
const CLIP = ['data', 'video', 'pan_tubingen_160x120'] as const;
const dataPresent = hasShared(...WEIGHTS) && hasShared(...STYLE) && hasShared(...CLIP);
const tools = await findProbeTools();
if ('reason' in tools) console.warn(`[stylize-video] ${tools.reason}: the stylize-video tests are skipped.`);
const probe = 'reason' in tools ? null : tools;

const tempDir = useTempDirs();

/** The first `count` frames of the shared pan clip (160x120, 12 fps), copied to a folder of their own. */
function clipFrames(count: number): string {
  const dir = path.join(tempDir('nst-sv-in-'), 'frames');
  mkdirSync(dir);
  for (let i = 1; i <= count; i++) copyFileSync(sharedPath(...CLIP, `frame_${String(i).padStart(4, '0')}.png`), path.join(dir, `frame_${String(i).padStart(4, '0')}.png`));
  return dir;
}

const jobArgs = (input: string, output: string, extra: string[] = []): string[] => [
  'stylize-video', input, sharedPath(...STYLE), '-o', output, '--weights', sharedPath(...WEIGHTS),
  '--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2',
  '--size', '64', '--iterations', '2', '--first-iterations', '3', '--stop', 'off', '--device', 'cpu', '--threads', '1', '--json', ...extra,
];

const frameFiles = (dir: string): string[] => readdirSync(dir).filter((name) => /^frame_\d{6}\.png$/.test(name)).sort();

describe.skipIf(!dataPresent || !probe)('nst stylize-video on 3 frames of the pan clip at 64 px', () => {
  const { ffprobe, ffmpeg } = probe ?? { ffprobe: '', ffmpeg: '' };
  const input = dataPresent ? clipFrames(3) : '';
  let reference = '';

  it('a folder of frames: one JSON line and one PNG per frame, an MP4 of 3 frames at the default 12 fps, 64x48', async () => {
    const dir = tempDir('nst-sv-ref-');
    reference = path.join(dir, 'frames');
    const output = path.join(dir, 'out.mp4');
    const result = await runNst(jobArgs(input, output, ['--frames-dir', reference]));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines[0]).toMatchObject({ started: true, jobDir: reference, frames: 3, fps: 12, width: 64, height: 48, audio: false, alreadyDone: 0 });
    const frames = lines.filter((line) => typeof line.frame === 'number');
    expect(frames.map((line) => [line.frame, line.iterations])).toEqual([[1, 3], [2, 2], [3, 2]]);
    // The first frame has no previous one: no temporal term; the others are held to the warped previous painting.
    expect(frames[0]!.temporal).toBeNull();
    for (const line of frames.slice(1)) expect(line.temporal).toBeGreaterThan(0);
    for (const line of frames) expect(Object.keys(line).sort()).toEqual(['frame', 'frames', 'iterations', 'loss', 'ms', 'temporal']);
    expect(lines.at(-1)).toMatchObject({ done: true, output, frames: 3, framesPainted: 3, fps: 12, width: 64, height: 48, audio: false, framesDir: reference });
    expect(frameFiles(reference)).toEqual(['frame_000001.png', 'frame_000002.png', 'frame_000003.png']);
    expect(await probeVideo(ffprobe, output)).toMatchObject({ codec: 'h264', width: 64, height: 48, frames: 3, fps: 12 });
  }, 120_000);

  it('SIGKILL after frame 1, the same command again stopped by SIGTERM after frame 2, then nst resume DIR: frames byte-identical to the uninterrupted job\'s', async () => {
    expect(reference).not.toBe('');
    const dir = tempDir('nst-sv-kill-');
    const frames = path.join(dir, 'frames');
    const output = path.join(dir, 'out.webm');
    const args = jobArgs(input, output, ['--frames-dir', frames]);
    /** Runs the job until its JSON line for `frame`, then sends `signal`. */
    const interrupt = async (frame: number, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> => {
      const child = spawnNst(args);
      let stdout = '';
      let stderr = '';
      let sent = false;
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        // Once: a second stop signal means "end now" (and after the job has let the signals go, it ends nst by default).
        if (!sent && jsonLines(stdout.slice(0, stdout.lastIndexOf('\n') + 1)).some((line) => line.frame === frame)) {
          sent = true;
          child.kill(signal);
        }
      });
      return new Promise((resolve) => child.on('close', (code, killedBy) => resolve({ code, signal: killedBy, stdout, stderr })));
    };
    const killed = await interrupt(1, 'SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(output)).toBe(false);
    const killedAt = frameFiles(frames).length;
    expect(killedAt).toBeGreaterThanOrEqual(1);

    // The same command with the same --frames-dir goes on from there; SIGTERM ends it after the frame in progress.
    const stopped = await interrupt(2, 'SIGTERM');
    expect(stopped.code).toBe(143);
    expect(jsonLines(stopped.stdout)[0]).toMatchObject({ started: true, alreadyDone: killedAt });
    const stoppedAt = frameFiles(frames).length;
    expect(stoppedAt).toBeGreaterThanOrEqual(2);
    if (stoppedAt < 3) {
      expect(jsonLines(stopped.stdout).at(-1)).toMatchObject({ done: false, stopped: true, framesDone: stoppedAt, frames: 3 });
      expect(stopped.stderr).toBe(`nst: stopped after frame ${stoppedAt} of 3 (SIGTERM); the finished frames are in ${frames}; go on with: nst resume ${frames}\n`);
    }

    const resumed = await runNst(['resume', frames, '--json']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const lines = jsonLines(resumed.stdout);
    expect(lines[0]).toMatchObject({ started: true, alreadyDone: stoppedAt });
    expect(lines.at(-1)).toMatchObject({ done: true, output, frames: 3, framesPainted: 3 - stoppedAt });
    expect(frameFiles(frames)).toEqual(frameFiles(reference));
    for (const name of frameFiles(reference)) expect(readFileSync(path.join(frames, name)).equals(readFileSync(path.join(reference, name))), name).toBe(true);
    expect(await probeVideo(ffprobe, output)).toMatchObject({ codec: 'vp9', width: 64, height: 48, frames: 3, fps: 12 });
  }, 240_000);

  it('a video with a sine tone: the frames at its 8 fps, its audio carried over, the job\'s folder gone from the data folder', async () => {
    const dir = tempDir('nst-sv-audio-');
    const clip = path.join(dir, 'clip.mp4');
    await run(ffmpeg, [
      '-v', 'error', '-framerate', '8', '-i', path.join(input, 'frame_%04d.png'), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=1',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-t', '0.375', clip,
    ]);
    const dataDir = path.join(dir, 'data');
    const output = path.join(dir, 'out.mp4');
    const result = await runNst(jobArgs(clip, output), { env: { NST_DATA_DIR: dataDir } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines[0]).toMatchObject({ started: true, frames: 3, fps: 8, width: 64, height: 48, audio: true });
    expect(lines.at(-1)).toMatchObject({ done: true, frames: 3, fps: 8, audio: true });
    expect(await probeVideo(ffprobe, output)).toMatchObject({ codec: 'h264', width: 64, height: 48, frames: 3, fps: 8 });
    const { stdout } = await run(ffprobe, ['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=codec_name,sample_rate,duration', '-of', 'csv=p=0', output]);
    const [codec, rate, seconds] = stdout.trim().split(',');
    expect([codec, rate]).toEqual(['aac', '44100']);
    // The whole 0.375 s of sound, not its first packets (within an AAC frame of 1024 samples).
    expect(Math.abs(Number(seconds) - 0.375)).toBeLessThan(0.03);
    // Without --frames-dir the frames were the job's checkpoint only.
    expect(readdirSync(path.join(dataDir, 'video-jobs'))).toEqual([]);
  }, 120_000);

  it('refuses, in one line with its exit code: other settings on a job\'s folder, a folder of other files, no frames, a file that is no video, --fps with a video, a blend per style, a frame over --memory-limit', async () => {
    expect(reference).not.toBe('');
    const dir = tempDir('nst-sv-refuse-');
    const output = path.join(dir, 'out.mp4');
    const other = await runNst(jobArgs(input, output, ['--frames-dir', reference, '--iterations', '3', '--temporal-weight', '50']));
    expect(other.code).toBe(2);
    expect(other.stderr).toBe(
      `nst: ${reference} holds a video job with other settings (iterations: 2 → 3; temporalWeight: 200 → 50): its frames would not match. ` +
        `Run it with the settings it was started with (nst resume ${reference}), or choose another --frames-dir (or remove that one) to start over.\n`,
    );

    const cluttered = path.join(dir, 'cluttered');
    mkdirSync(cluttered);
    writeFileSync(path.join(cluttered, 'holiday.png'), 'x');
    const clutter = await runNst(jobArgs(input, output, ['--frames-dir', cluttered]));
    expect(clutter.code).toBe(2);
    expect(clutter.stderr).toBe(`nst: ${cluttered} holds files (holiday.png) but no video job: give an empty or new folder for the frames.\n`);

    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const none = await runNst(jobArgs(empty, output));
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(`nst: ${empty} holds no frames: give a folder of numbered images (frame_0001.png, …) or a video file.\n`);

    const notVideo = path.join(dir, 'notes.mp4');
    writeFileSync(notVideo, 'not a video');
    const unreadable = await runNst(jobArgs(notVideo, output, ['--frames-dir', path.join(dir, 'never')]));
    expect(unreadable.code).toBe(3);
    expect(unreadable.stderr).toMatch(new RegExp(`^nst: ${notVideo.replace(/[.]/g, '\\.')} is not a video ffmpeg can read .*: give a video file \\(MP4, WebM, MOV, …\\) or a folder of numbered frames\\.\\n$`));
    // A refused job leaves no folder behind.
    expect(existsSync(path.join(dir, 'never'))).toBe(false);

    const fps = await runNst(jobArgs(notVideo, output, ['--fps', '24']));
    expect(fps).toMatchObject({ code: 2, stderr: 'nst: --fps is for a folder of frames: a video file keeps its own frame rate.\n' });
    const blend = await runNst(jobArgs(input, output, ['--style-blend', '1,1']));
    expect(blend).toMatchObject({ code: 2, stderr: 'nst: --style-blend: 2 weights for 1 style image; give one weight per style image.\n' });
    // Frames are painted whole at one size: a frame over --memory-limit is refused before painting, leaving no folder.
    const tight = path.join(dir, 'tight');
    const memory = await runNst(jobArgs(input, output, ['--frames-dir', tight, '--memory-limit', '100']));
    expect(memory.code).toBe(5);
    expect(memory.stderr).toMatch(/^nst: A 64x48 frame needs about [\d.]+ [MG]B, over the 100 MB memory limit, and a video job paints whole frames at one size: choose a smaller --size or shallower layers, or raise --memory-limit\.\n$/);
    expect(existsSync(tight)).toBe(false);
    const avi = await runNst(jobArgs(input, path.join(dir, 'out.avi')));
    expect(avi).toMatchObject({ code: 2, stderr: `nst: Cannot tell the video format of ${path.join(dir, 'out.avi')}: use a .mp4, .webm or .gif name.\n` });
    expect(existsSync(output)).toBe(false);
  }, 120_000);
});
