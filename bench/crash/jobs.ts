// The crash harness's jobs: the inputs they paint, the trial folder each runs in, and the four kinds of `nst`
// command it kills (stylize, resume, batch, stylize --video), each with how the docs say to finish it.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { REPO_ROOT } from '../../tests/helpers/shared-data.js';

export const JOB_KINDS = ['stylize', 'resume', 'batch', 'video'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** `full`: the script's jobs; `ci`: the same jobs smaller and shorter, for the test's few kills. */
export type JobScale = 'full' | 'ci';

/** A file the job writes where the user may already have one: after a kill it is the old file or a whole new one. */
export interface JobOutput {
  /** Relative to the trial folder. */
  readonly file: string;
  readonly type: 'image' | 'video';
  /** The inputs' file the user had there before (an older result), or null when there was none. */
  readonly before: string | null;
}

export interface Job {
  readonly kind: JobKind;
  /** The command, with paths relative to the trial folder (it is the working folder). */
  readonly args: readonly string[];
  readonly outputs: readonly JobOutput[];
  /** Files the job must leave in out/ besides its outputs (the bystander, a batch's manifest). */
  readonly alsoInOut: readonly string[];
  /**
   * How a user finishes it after a crash, as the docs say: `resume` (nst resume RUN_ID for the run `nst runs`
   * lists, else the same command again) or `rerun` (the same command: a batch does only what is not done).
   */
  readonly finish: 'resume' | 'rerun';
}

/** The inputs every trial copies: in/ (photos, paintings), before/ (results the user had), made once. */
export interface Inputs {
  readonly dir: string;
  readonly hasVideo: boolean;
}

const EXAMPLES = path.join(REPO_ROOT, 'resources', 'examples');
const BATCH_PHOTOS = ['a.png', 'b.jpg', 'c.png'];

/** Makes the inputs from the repository's own example pictures (so no shared data is needed); ffmpeg for the old video. */
export async function prepareInputs(dir: string, ffmpeg: string | null): Promise<Inputs> {
  const inDir = path.join(dir, 'in');
  const before = path.join(dir, 'before');
  mkdirSync(path.join(inDir, 'photos'), { recursive: true });
  mkdirSync(before, { recursive: true });
  const bridge = path.join(EXAMPLES, 'golden-gate.jpg'); // 1280 × 595
  const wave = path.join(EXAMPLES, 'great-wave.jpg'); // 928 × 514
  await sharp(bridge).extract({ left: 200, top: 0, width: 794, height: 595 }).resize(96, 72).png().toFile(path.join(inDir, 'content.png'));
  await sharp(wave).resize(96).jpeg({ quality: 90 }).toFile(path.join(inDir, 'style.jpg'));
  await sharp(wave).extract({ left: 400, top: 0, width: 514, height: 514 }).flop().resize(72, 72).png().toFile(path.join(inDir, 'style2.png'));
  await sharp(bridge).extract({ left: 0, top: 0, width: 595, height: 595 }).resize(64, 64).png().toFile(path.join(inDir, 'photos', 'a.png'));
  await sharp(bridge).extract({ left: 685, top: 0, width: 595, height: 595 }).resize(64, 64).jpeg({ quality: 90 }).toFile(path.join(inDir, 'photos', 'b.jpg'));
  await sharp(bridge).extract({ left: 300, top: 50, width: 700, height: 525 }).flip().resize(64, 48).png().toFile(path.join(inDir, 'photos', 'c.png'));
  // An older result where the job writes its own: a gradient nothing in a run could produce.
  const gradient = Buffer.alloc(40 * 30 * 3);
  for (let i = 0; i < 40 * 30; i++) gradient.set([(i % 40) * 6, Math.floor(i / 40) * 8, 128], 3 * i);
  await sharp(gradient, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(path.join(before, 'old.png'));
  writeFileSync(path.join(before, 'notes.txt'), 'The user\'s own notes beside the outputs: nst must never touch them.\n');
  if (ffmpeg) {
    execFileSync(ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=32x24:rate=5', '-t', '1', '-pix_fmt', 'yuv420p', '-y', path.join(before, 'old.mp4')]);
  }
  return { dir, hasVideo: ffmpeg !== null };
}

/** The trial's folder: in/ (inputs), out/ (results and the user's older ones), data/ (NST_DATA_DIR), tmp/ (TMPDIR). */
export function layTrial(root: string, inputs: Inputs, job: Job): void {
  for (const sub of ['in/photos', 'out', 'data', 'tmp']) mkdirSync(path.join(root, sub), { recursive: true });
  for (const name of ['content.png', 'style.jpg', 'style2.png', ...BATCH_PHOTOS.map((p) => `photos/${p}`)]) copyFileSync(path.join(inputs.dir, 'in', name), path.join(root, 'in', name));
  const outDirs = new Set(job.outputs.map((o) => path.dirname(o.file)));
  for (const dir of outDirs) {
    mkdirSync(path.join(root, dir), { recursive: true });
    copyFileSync(path.join(inputs.dir, 'before', 'notes.txt'), path.join(root, dir, 'notes.txt'));
  }
  for (const output of job.outputs) if (output.before) copyFileSync(path.join(inputs.dir, 'before', output.before), path.join(root, output.file));
}

/** The environment of every nst in a trial: its own data folder and temp folder, the built-in weights. */
export function trialEnv(root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NST_DATA_DIR: path.join(root, 'data'), TMPDIR: path.join(root, 'tmp'), NST_WEIGHTS: '' };
  delete env.NODE_OPTIONS; // a debugger or loader of the harness's own would follow nst
  return env;
}

/**
 * The job of a kind: tiny sizes, few iterations, one thread (the engine is deterministic on one thread), --json.
 * `checkpoints: false` (the video job every other turn) runs with --checkpoint-every 0: its frames spool in the
 * temp folder and nothing can be resumed, so the same command again finishes it.
 */
export function jobFor(kind: JobKind, scale: JobScale, checkpoints = true): Job {
  const ci = scale === 'ci';
  const common = ['--device', 'cpu', '--threads', '1', '--json'];
  const image: JobOutput = { file: 'out/out.png', type: 'image', before: 'old.png' };
  switch (kind) {
    case 'stylize':
      // L-BFGS from a seeded noise start; a checkpoint and a snapshot of OUT nearly every iteration.
      return {
        kind,
        args: ['stylize', 'in/content.png', 'in/style.jpg', '-o', 'out/out.png', '--size', ci ? '40' : '48', '--iterations', ci ? '16' : '60', '--init', 'noise', '--seed', '7', '--checkpoint-every', '0.1', '--save-every', '2', ...common],
        outputs: [image],
        alsoInOut: ['out/notes.txt'],
        finish: 'resume',
      };
    case 'resume':
      // Adam over two scales, killed once at a checkpoint; then its `nst resume` is the job that is killed.
      return {
        kind,
        args: ['stylize', 'in/content.png', 'in/style.jpg', 'in/style2.png', '-o', 'out/out.png', '--size', '64', '--scales', '2', '--optimizer', 'adam', '--iterations', ci ? '16' : '40', '--checkpoint-every', '0.1', '--save-every', '3', ...common],
        outputs: [image],
        alsoInOut: ['out/notes.txt'],
        finish: 'resume',
      };
    case 'batch': {
      // Three photos (PNG and JPEG, two shapes) in two blended styles; one result the user had is replaced.
      const outputs: JobOutput[] = BATCH_PHOTOS.map((photo) => ({ file: `out/batch/${batchOutputName(photo)}`, type: 'image', before: photo === 'a.png' ? 'old.png' : null }));
      return {
        kind,
        args: ['batch', '--content', 'in/photos', '--style', 'in/style.jpg', 'in/style2.png', '-o', 'out/batch', '--size', ci ? '32' : '40', '--iterations', ci ? '6' : '16', ...common],
        outputs,
        alsoInOut: ['out/batch/notes.txt', 'out/batch/nst-batch.json'],
        finish: 'rerun',
      };
    }
    case 'video':
      // A timelapse that replaces an older one; with checkpoints its frames are spooled with the run, else in the temp folder.
      return {
        kind,
        args: ['stylize', 'in/content.png', 'in/style.jpg', '-o', 'out/out.png', '--size', ci ? '32' : '40', '--iterations', ci ? '12' : '40', '--checkpoint-every', checkpoints ? '0.1' : '0', '--video', 'out/timelapse.mp4', '--frame-every', '2', ...common],
        outputs: [image, { file: 'out/timelapse.mp4', type: 'video', before: 'old.mp4' }],
        alsoInOut: ['out/notes.txt'],
        finish: checkpoints ? 'resume' : 'rerun',
      };
  }
}

/** nst batch's output name for a content file (`a.jpg` → `a.png` unless another input takes that name). */
function batchOutputName(photo: string): string {
  return `${path.parse(photo).name}.png`;
}
