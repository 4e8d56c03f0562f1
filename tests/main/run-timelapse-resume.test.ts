// A studio run's timelapse survives the app dying: the run, killed mid-way in a process of its own, is resumed by
// the next session into the same frame spool; the frames the killed process took after its checkpoint are replaced,
// not duplicated, and none before it is missing, so the spool is one ordered sequence from iteration 0 to the end,
// frame for frame what an uninterrupted run spools, and its video has every frame. Pruning old spools (when another
// run starts first) spares the interrupted run's.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunService } from '../../src/main/services/run-service.js';
import { RUN_FRAMES_FOLDER, VideoService, runFramesDir } from '../../src/main/services/video-service.js';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import { FRAMES_INDEX_FILE, parseFramesIndex, readFramesIndex, type FramesIndex } from '../../src/engine/video/frame-index.js';
import type { RunEvent } from '../../src/shared/api.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { EventLog, WEIGHTS_DIR, studioDataPresent, testSettings, tsJobWorker, tubingenStarryRequest } from '../helpers/studio.js';
import { decodePng, findProbeTools, probeVideo, psnr, type RgbBytes } from '../helpers/video-probe.js';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const present = studioDataPresent();
const tools = await findProbeTools();
const videoSkip = 'reason' in tools ? tools.reason : null;
if (!present) console.warn('[run-timelapse-resume] skipped: the shared uint8 VGG19 weights or fixture images are absent');
else if (videoSkip) console.warn(`[run-timelapse-resume] the video frame count is not checked: ${videoSkip}`);

const ITERATIONS = 60;
const FRAME_EVERY = 10;
/** What an uninterrupted run spools: iteration 0, every FRAME_EVERY-th, and the last. */
const EXPECTED = [...Array.from({ length: Math.floor(ITERATIONS / FRAME_EVERY) + 1 }, (_, i) => i * FRAME_EVERY), ...(ITERATIONS % FRAME_EVERY ? [ITERATIONS] : [])];

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The spool's index as it is on disk now (a line being appended is left out), or null before its first line. */
function readIndexSync(dir: string): FramesIndex | null {
  const file = path.join(dir, FRAMES_INDEX_FILE);
  try {
    return parseFramesIndex(readFileSync(file, 'utf8'), file);
  } catch {
    return null;
  }
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The spool as it is on disk now: its index, and the frame files in its folder. */
function spoolOnDisk(dir: string): { index: FramesIndex | null; frameFiles: string[] } {
  return { index: readIndexSync(dir), frameFiles: existsSync(dir) ? readdirSync(dir).filter((n) => /^frame_\d+\.png$/.test(n)).sort() : [] };
}

/**
 * The first session: a run recording a timelapse in a process of its own, frozen (SIGSTOP) each time it is looked
 * at, so its checkpoint and spool are seen as they are at one moment, and killed (SIGKILL) at the first look where
 * `killNow` says so: the app dying.
 */
async function killMidRun(root: string, what: string, killNow: (at: number, spool: FramesIndex | null) => boolean): Promise<{ runId: string; at: number; killed: FramesIndex }> {
  const runs = path.join(root, 'runs');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests', 'helpers', 'studio-run-child.ts'), root, String(ITERATIONS), 'adam'], {
    cwd: REPO_ROOT,
    env: { ...process.env, FRAME_EVERY: String(FRAME_EVERY) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let childOut = '';
  child.stdout!.on('data', (d: Buffer) => (childOut += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let runId = '';
  let at = 0;
  let spool: FramesIndex | null = null;
  try {
    await until(() => {
      if (childOut.includes('"type":"done"')) throw new Error(`the first session's run finished before ${what}: ${childOut.slice(-300)}`);
      // A run's folder is made under a temporary (dot) name and renamed into place: only run ids count.
      runId = existsSync(runs) ? (readdirSync(runs).find((name) => !name.startsWith('.')) ?? '') : '';
      if (!runId) return false;
      child.kill('SIGSTOP');
      at = readJson<{ progress: { iteration: number } }>(path.join(runs, runId, MANIFEST_FILE))?.progress.iteration ?? 0;
      spool = spoolOnDisk(runFramesDir(root, runId)).index;
      if (at > 0 && killNow(at, spool)) return true;
      child.kill('SIGCONT');
      return false;
    }, 120_000, what, () => childOut.slice(-400));
  } finally {
    child.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  expect(at).toBeLessThan(ITERATIONS);
  const killed = spool as FramesIndex | null;
  if (!killed) throw new Error(`the killed run had spooled no frame index by ${what}`);
  console.log(`[timelapse-resume] killed at ${what}: checkpoint at iteration ${at}, frames of iterations ${killed.frames.map((f) => f.iteration).join(',')}`);
  return { runId, at, killed };
}

/** Resumes the interrupted run and checks its spool is one sequence from 0 to the end; returns the frames. */
async function resumeAndCheckSpool(service: RunService, log: EventLog, root: string, runId: string, at: number, killed: FramesIndex): Promise<FramesIndex['frames']> {
  const framesDir = runFramesDir(root, runId);
  // The frames the killed process took up to its checkpoint stay as they are.
  const keptBefore = killed.frames.filter((f) => f.iteration <= at).map((f) => ({ file: f.file, sha: sha(path.join(framesDir, f.file)) }));
  expect(await service.resumeInterruptedRun({ runId })).toEqual({ ok: true, value: { runId } });
  const done = (await log.end(runId)) as Of<'done'>;
  expect(done).toMatchObject({ type: 'done', iterations: ITERATIONS, stopped: false });
  expect(log.of(runId).filter((e) => e.type === 'notice')).toEqual([]);
  // One sequence: every frame from iteration 0 to the end once, in order, files numbered by position, nothing else
  // in the folder; each frame with the loss of its own image.
  const resumed = spoolOnDisk(framesDir);
  const frames = resumed.index!.frames;
  expect(frames.map((f) => f.iteration)).toEqual(EXPECTED);
  expect(frames.map((f) => f.file)).toEqual(EXPECTED.map((_, i) => `frame_${String(i).padStart(6, '0')}.png`));
  expect(resumed.frameFiles).toEqual(frames.map((f) => f.file));
  expect(frames.every((f) => f.loss !== null && Number.isFinite(f.loss))).toBe(true);
  for (const kept of keptBefore) expect(sha(path.join(framesDir, kept.file))).toBe(kept.sha);
  return frames;
}

const studio = (root: string, keepSpools = 20): RunService =>
  new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 2, checkpoints: { root, everyMs: 0 }, frames: { root, keep: keepSpools } });

describe.skipIf(!present)(`a resumed studio run keeps recording its timelapse (real uint8 VGG19, 64 px, Adam, ${ITERATIONS} iterations, a frame every ${FRAME_EVERY})`, () => {
  it('killed while its spool is ahead of its checkpoint: the later frames are taken again, not duplicated; the spool matches an uninterrupted run\'s and its video has every frame; another run\'s pruning spares it', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-timelapse-resume-'));
    const second = studio(root, 2);
    const log = new EventLog(second);
    try {
      // Frames are written without fsync, checkpoints with it: a checkpoint being written trails frames already on disk.
      const { runId, at, killed } = await killMidRun(root, 'a moment with frames past the checkpoint on disk', (checkpointAt, spool) => checkpointAt >= 5 && spool !== null && spool.frames.some((f) => f.iteration > checkpointAt));
      expect(killed.frames.map((f) => f.iteration)).toEqual(EXPECTED.slice(0, killed.frames.length));
      expect(killed.frames.at(-1)!.iteration).toBeGreaterThan(at);

      // The next session starts another run first. Its prune keeps 1 other spool, and three of other runs are newer
      // than the interrupted run's: by age alone, the interrupted run's would go.
      const others = ['run-90-0000aaaa', 'run-91-0000bbbb', 'run-92-0000cccc'];
      for (const [i, other] of others.entries()) {
        await mkdir(runFramesDir(root, other), { recursive: true });
        await writeFile(path.join(runFramesDir(root, other), FRAMES_INDEX_FILE), '{}');
        const future = new Date(Date.now() + (i + 1) * 60_000);
        await utimes(runFramesDir(root, other), future, future);
      }
      const first = await second.startRun({ ...(await tubingenStarryRequest(testSettings({ iterations: 3 }))), timelapse: { frameEvery: 1 } });
      if (!first.ok) throw new Error(first.error.message);
      expect(await log.end(first.value.runId)).toMatchObject({ type: 'done' });
      const spools = (): string[] => readdirSync(path.join(root, RUN_FRAMES_FOLDER)).sort();
      await until(() => spools().length === 3, 10_000, 'old spools to be pruned', () => spools().join(','));
      expect(spools()).toEqual([first.value.runId, runId, 'run-92-0000cccc'].sort());

      const frames = await resumeAndCheckSpool(second, log, root, runId, at, killed);
      const framesDir = runFramesDir(root, runId);
      const resumedPixels = await Promise.all(frames.map((f) => decodePng(path.join(framesDir, f.file))));

      if (!videoSkip) {
        const videos = new VideoService({ root });
        const output = path.join(root, 'resumed.mp4');
        const exported = await videos.exportVideo({ runId, format: 'mp4', fps: 10, holdFinalSeconds: 0, sideBySide: false, caption: false }, output);
        if (!exported.ok) throw new Error(exported.error.message);
        expect(exported.value).toMatchObject({ width: 64, height: 64, frames: EXPECTED.length });
        expect(await probeVideo((tools as { ffprobe: string }).ffprobe, output)).toMatchObject({ codec: 'h264', frames: EXPECTED.length });
      }

      // The same run uninterrupted spools the same frames: same iterations, near-identical images and losses.
      const reference = await second.startRun({ ...(await tubingenStarryRequest(testSettings({ iterations: ITERATIONS, optimizer: 'adam' }))), timelapse: { frameEvery: FRAME_EVERY } });
      if (!reference.ok) throw new Error(reference.error.message);
      expect(await log.end(reference.value.runId)).toMatchObject({ type: 'done', iterations: ITERATIONS });
      const referenceDir = runFramesDir(root, reference.value.runId);
      const whole = (await readFramesIndex(referenceDir))!;
      expect(whole.frames.map((f) => f.iteration)).toEqual(EXPECTED);
      const quality: number[] = [];
      for (const [i, frame] of whole.frames.entries()) {
        const image: RgbBytes = await decodePng(path.join(referenceDir, frame.file));
        quality.push(psnr(image, resumedPixels[i]!));
        expect(Math.abs(frames[i]!.loss! - frame.loss!) / frame.loss!).toBeLessThan(0.01);
      }
      console.log(`[timelapse-resume] resumed vs uninterrupted frames: lowest PSNR ${Math.min(...quality).toFixed(1)} dB`);
      expect(Math.min(...quality)).toBeGreaterThan(40);
    } finally {
      await second.dispose();
      await rm(root, { recursive: true, force: true });
    }
  }, 300_000);

  it('killed as soon as a checkpoint past iteration 30 is on disk: every frame up to it is there too (frames are encoded in the background, and a checkpoint waits for them)', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-timelapse-resume-'));
    const second = studio(root);
    const log = new EventLog(second);
    try {
      const { runId, at, killed } = await killMidRun(root, 'the first checkpoint past iteration 30', (checkpointAt) => checkpointAt > 30);
      expect(killed.frames.map((f) => f.iteration)).toEqual(EXPECTED.slice(0, killed.frames.length));
      expect(killed.frames.at(-1)!.iteration).toBeGreaterThanOrEqual(at - (at % FRAME_EVERY));
      await resumeAndCheckSpool(second, log, root, runId, at, killed);
    } finally {
      await second.dispose();
      await rm(root, { recursive: true, force: true });
    }
  }, 300_000);
});
