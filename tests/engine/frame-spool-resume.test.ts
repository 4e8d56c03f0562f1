// Reopening an interrupted run's frame spool (FrameSpool.resume) and recording on into it (FrameRecorder): the
// frames up to the checkpoint stay untouched, those taken after it go (index first, then files, with any unlisted
// frame or temp file a kill left), the numbering continues, and the sequence stays in iteration order.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlanarImage } from '../../src/engine/io/image.js';
import type { LossBreakdown } from '../../src/engine/model/objective.js';
import type { RenderEvent } from '../../src/engine/render/run.js';
import { CONTENT_FILE, FRAMES_INDEX_FILE, listFrames, readFramesIndex, type FramesIndex } from '../../src/engine/video/frame-index.js';
import { FrameRecorder } from '../../src/engine/video/frame-recorder.js';
import { FrameSpool } from '../../src/engine/video/frames.js';

/** A 4x3 image of one grey level: each frame's pixels tell which iteration it shows. */
const image = (level: number): PlanarImage => ({ width: 4, height: 3, data: new Float32Array(36).fill(level) });

const progress = (iteration: number, iterations: number, withImage: boolean): RenderEvent => ({
  type: 'progress',
  iteration,
  iterations,
  stageIteration: iteration,
  stageIterations: iterations,
  loss: { total: 1000 - iteration, style: {}, content: {}, tv: 0 },
  ms: 1,
  ...(withImage ? { image: image(iteration) } : {}),
});

async function readIndex(dir: string): Promise<FramesIndex> {
  const index = await readFramesIndex(dir);
  if (!index) throw new Error(`no frame index in ${dir}`);
  return index;
}

let root: string;
let dir: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'nst-spool-resume-'));
  dir = path.join(root, 'run-1-abcd');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The interrupted process: frames 0, 2, 4, 6, 8 (every 2), the content image, losses of all but the last. */
async function interruptedSpool(): Promise<void> {
  const spool = await FrameSpool.create({ dir, frameEvery: 2 });
  const recorder = new FrameRecorder(spool);
  recorder.start(image(0), image(200));
  // A run's events come an iteration apart (a burst of them would find the recorder's backlog full).
  for (let i = 1; i <= 8; i++) {
    recorder.onEvent(progress(i, 20, true));
    await recorder.settled();
  }
  await recorder.close();
}

describe('FrameSpool.resume', () => {
  it('keeps the frames up to the checkpoint byte for byte, drops later ones and kill debris, and continues the numbering', async () => {
    await interruptedSpool();
    const before = await readIndex(dir);
    expect(before.frames.map((f) => f.iteration)).toEqual([0, 2, 4, 6, 8]);
    const kept = await Promise.all(['frame_000000.png', 'frame_000001.png', 'frame_000002.png'].map((f) => readFile(path.join(dir, f))));
    // What a kill can leave: a frame written but not yet listed, and a temp file of a write cut short.
    await writeFile(path.join(dir, 'frame_000005.png'), kept[0]!);
    await writeFile(path.join(dir, '.frame_000006.png.4242.0badf00d.tmp'), 'half');

    // The checkpoint is at iteration 5: frames 6 and 8 show iterations the resumed run takes again.
    const spool = await FrameSpool.resume({ dir, upTo: 5 });
    expect(spool.frameEvery).toBe(2);
    expect(spool.hasContent).toBe(true);
    expect(spool.frames).toEqual(before.frames.slice(0, 3));
    expect((await readIndex(dir)).frames).toEqual(before.frames.slice(0, 3));
    expect((await readdir(dir)).sort()).toEqual([CONTENT_FILE, 'frame_000000.png', 'frame_000001.png', 'frame_000002.png', FRAMES_INDEX_FILE]);

    const recorder = new FrameRecorder(spool);
    // The resumed run starts its recorder as a new one does: the start frame and the content are not added again.
    recorder.start(image(0), image(200));
    recorder.resumeFrom(image(5), 5);
    for (let i = 6; i <= 11; i++) recorder.onEvent(progress(i, 11, i % 2 === 0 || i === 11));
    const lossOf = (total: number): LossBreakdown => ({ total, style: {}, content: {}, tv: 0 });
    const frames = await recorder.finish({ image: image(11), iterations: 11, initialLoss: lossOf(1000), finalLoss: lossOf(900), stopped: false, stop: { kind: 'cap', iteration: 11, cap: 11 }, device: 'cpu' });

    expect(frames.map((f) => [f.file, f.iteration])).toEqual([
      ['frame_000000.png', 0],
      ['frame_000001.png', 2],
      ['frame_000002.png', 4],
      ['frame_000003.png', 6],
      ['frame_000004.png', 8],
      ['frame_000005.png', 10],
      ['frame_000006.png', 11],
    ]);
    // Each frame has the loss of its own image (event i reports the image after i - 1 steps); the last, the result's.
    expect(frames.map((f) => f.loss)).toEqual([999, 997, 995, 993, 991, 989, 900]);
    for (const [i, bytes] of kept.entries()) expect((await readFile(path.join(dir, frames[i]!.file))).equals(bytes)).toBe(true);
    // A reader sees the one sequence, each frame's pixels those of its iteration.
    const listed = await listFrames(dir);
    expect(listed.frames.map((f) => f.iteration)).toEqual([0, 2, 4, 6, 8, 10, 11]);
    expect(listed.contentPath).toBe(path.join(dir, CONTENT_FILE));
    const { default: sharp } = await import('sharp');
    for (const frame of listed.frames) {
      const { data } = await sharp(frame.path).raw().toBuffer({ resolveWithObject: true });
      expect(data[0]).toBe(frame.iteration);
    }
  });

  it('spools the checkpoint image when the frame that belongs at the checkpoint was not written before the kill', async () => {
    const spool = await FrameSpool.create({ dir, frameEvery: 2 });
    const first = new FrameRecorder(spool);
    first.start(image(0));
    for (let i = 1; i <= 3; i++) first.onEvent(progress(i, 10, true));
    await first.close();

    // Killed after the checkpoint of iteration 4 was written but before frame 4 was.
    const resumed = new FrameRecorder(await FrameSpool.resume({ dir, upTo: 4 }));
    resumed.start(image(0));
    resumed.resumeFrom(image(4), 4);
    resumed.onEvent(progress(5, 10, false));
    resumed.onEvent(progress(6, 10, true));
    const frames = await resumed.close();
    expect(frames.map((f) => [f.file, f.iteration, f.loss])).toEqual([
      ['frame_000000.png', 0, 999],
      ['frame_000001.png', 2, 997],
      ['frame_000002.png', 4, 995],
      ['frame_000003.png', 6, null],
    ]);

    // A checkpoint between two frames: nothing to add.
    const again = new FrameRecorder(await FrameSpool.resume({ dir, upTo: 5 }));
    again.resumeFrom(image(5), 5);
    expect((await again.close()).map((f) => f.iteration)).toEqual([0, 2, 4]);
    expect(existsSync(path.join(dir, 'frame_000003.png'))).toBe(false);
  });

  it('refuses a folder with no spool, a spool with no frame to continue from, and a bad iteration, naming each', async () => {
    await expect(FrameSpool.resume({ dir, upTo: 3 })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: `There is no frame spool to continue in ${dir} (no ${FRAMES_INDEX_FILE}).` });
    await interruptedSpool();
    await expect(FrameSpool.resume({ dir, upTo: -1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: 'upTo must be a whole number of at least 0, got -1.' });
    await rm(path.join(dir, 'frame_000000.png'));
    await expect(FrameSpool.resume({ dir, upTo: 5 })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: `The frame spool in ${dir} holds no frame up to iteration 5 to continue from.` });
    await writeFile(path.join(dir, FRAMES_INDEX_FILE), JSON.stringify({ version: 1, frames: [] }));
    await expect(FrameSpool.resume({ dir, upTo: 5 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('is not a frame index nst wrote') });
  });
});
