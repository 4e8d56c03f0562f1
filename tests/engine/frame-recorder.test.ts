// FrameRecorder and FrameSpool behind a run that blocks its thread: onnxruntime-node runs each iteration's graph
// synchronously on the JS thread, so the event loop turns about once an iteration. Frames still reach disk within an
// iteration or so of being captured; when writing does fall behind, intermediate frames are skipped instead of held,
// never a frame already queued (a checkpoint waits for those), the first or the last.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlanarImage } from '../../src/engine/io/image.js';
import type { LossBreakdown } from '../../src/engine/model/objective.js';
import type { RenderEvent, RunResult } from '../../src/engine/render/run.js';
import { FRAMES_INDEX_FILE, parseFramesIndex } from '../../src/engine/video/frame-index.js';
import { DEFAULT_FRAME_BACKLOG, FrameRecorder } from '../../src/engine/video/frame-recorder.js';
import { FrameSpool } from '../../src/engine/video/frames.js';

/** A 4x3 image of one grey level: each frame's pixels tell which iteration it shows. */
const image = (level: number): PlanarImage => ({ width: 4, height: 3, data: new Float32Array(36).fill(level) });

const progress = (iteration: number, iterations: number): RenderEvent => ({
  type: 'progress',
  iteration,
  iterations,
  stageIteration: iteration,
  stageIterations: iterations,
  loss: { total: 1000 - iteration, style: {}, content: {}, tv: 0 },
  ms: 1,
  image: image(iteration),
});

const lossOf = (total: number): LossBreakdown => ({ total, style: {}, content: {}, tv: 0 });
const result = (iterations: number): RunResult => ({ image: image(iterations), iterations, initialLoss: lossOf(1000), finalLoss: lossOf(900), stopped: false, stop: { kind: 'cap', iteration: iterations, cap: iterations }, device: 'cpu' });

/** The iterations the spool's index on disk lists now (read synchronously: the reading takes no event-loop turn). */
function onDisk(spool: FrameSpool): number[] {
  const file = path.join(spool.dir, FRAMES_INDEX_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return parseFramesIndex(text, file).frames.map((f) => f.iteration);
}

/** A `prepare` that holds every frame until open() is called (a slow resize, a starved encoder). */
function gate(): { prepare: (image: PlanarImage) => Promise<PlanarImage>; open: () => void; prepared: number[] } {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  const prepared: number[] = [];
  return {
    prepared,
    open: () => release(),
    prepare: async (frame) => {
      await opened;
      prepared.push(frame.data[0]!);
      return frame;
    },
  };
}

const spools: FrameSpool[] = [];
afterEach(async () => {
  await Promise.all(spools.splice(0).map((s) => s.remove()));
});

async function newSpool(frameEvery: number): Promise<FrameSpool> {
  const spool = await FrameSpool.create({ frameEvery });
  spools.push(spool);
  return spool;
}

describe('frames of a run that blocks its thread between event-loop turns', () => {
  it('reach disk within an iteration or two of being captured, all run long', async () => {
    const spool = await newSpool(2);
    // sharp's first encode in a process loads its codecs: not what this is about.
    await spool.add(image(0), 0);
    const recorder = new FrameRecorder(spool);
    const blocked = new Int32Array(new SharedArrayBuffer(4));
    const iterations = 30;
    /** For each frame: the iteration it was captured at, and the iteration by which the index on disk listed it. */
    const landed = new Map<number, number>();
    // A few more turns after the last iteration (the run's final evaluation) for the last frame.
    for (let i = 1; i <= iterations + 3; i++) {
      // What onnxruntime-node's session.run does: a setImmediate, then the graph runs synchronously (20 ms here).
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          Atomics.wait(blocked, 0, 0, 20);
          resolve();
        }),
      );
      if (i <= iterations) recorder.onEvent(progress(i, iterations));
      for (const it of onDisk(spool)) if (!landed.has(it)) landed.set(it, i);
    }
    await recorder.finish(result(iterations));
    const lag = [...landed].filter(([it]) => it > 0).map(([it, at]) => at - it);
    expect(lag).toHaveLength(iterations / 2);
    // Two turns: the encode's completion is handled in the turn after the capture, the file and index written at once.
    // (With each file and index write an awaited open, write, close and rename, a turn each, frames 2 and 4 took 12
    // and 23 turns here and the rest were not on disk when the run ended.)
    expect(Math.max(...lag)).toBeLessThanOrEqual(4);
    expect(recorder.dropped).toBe(0);
  });
});

describe('a recorder whose writing falls behind', () => {
  it('holds at most maxBacklog frames, skipping intermediate captures; frames queued before settled() are all written; it catches up once writing does', async () => {
    const spool = await newSpool(1);
    const slow = gate();
    const recorder = new FrameRecorder(spool, { prepare: slow.prepare, maxBacklog: 3 });
    recorder.start(image(0));
    for (let i = 1; i <= 10; i++) recorder.onEvent(progress(i, 20));
    // 0, 1 and 2 are queued; 3 to 10 were skipped rather than held.
    expect(recorder.dropped).toBe(8);
    // A checkpoint at iteration 10 waits for the frames queued so far.
    let checkpointed = false;
    const checkpoint = recorder.settled().then(() => (checkpointed = true));
    recorder.onEvent(progress(11, 20));
    expect(recorder.dropped).toBe(9);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(checkpointed).toBe(false);
    slow.open();
    await checkpoint;
    expect(onDisk(spool)).toEqual([0, 1, 2]);

    for (let i = 12; i <= 20; i++) {
      recorder.onEvent(progress(i, 20));
      await recorder.settled();
    }
    const frames = await recorder.finish(result(20));
    expect(frames.map((f) => f.iteration)).toEqual([0, 1, 2, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(frames.map((f) => f.file)).toEqual(frames.map((_, i) => `frame_${String(i).padStart(6, '0')}.png`));
    // Each frame still has the loss of its own image (event i + 1 reports it), the last the result's.
    expect(frames.map((f) => f.loss)).toEqual([999, 998, 997, 987, 986, 985, 984, 983, 982, 981, 980, 900]);
    expect(slow.prepared).toEqual([0, 1, 2, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(recorder.dropped).toBe(9);
  });

  it('never skips the last frame, whether the last progress event or finish() brings it', async () => {
    const spool = await newSpool(1);
    const slow = gate();
    const recorder = new FrameRecorder(spool, { prepare: slow.prepare, maxBacklog: 2 });
    recorder.start(image(0));
    for (let i = 1; i <= 8; i++) recorder.onEvent(progress(i, 8));
    slow.open();
    expect((await recorder.finish(result(8))).map((f) => [f.iteration, f.loss])).toEqual([
      [0, 999],
      [1, 998],
      [8, 900],
    ]);
    expect(recorder.dropped).toBe(6);

    // Stopped early: the frame of iteration 5, where the run ends, was skipped; finish() brings it.
    const held = gate();
    const stopped = new FrameRecorder(await newSpool(1), { prepare: held.prepare, maxBacklog: 1 });
    stopped.start(image(0));
    for (let i = 1; i <= 5; i++) stopped.onEvent(progress(i, 20));
    expect(stopped.dropped).toBe(5);
    const finished = stopped.finish({ ...result(5), stopped: true });
    held.open();
    expect((await finished).map((f) => [f.iteration, f.loss])).toEqual([
      [0, 999],
      [5, 900],
    ]);
  });

  it('defaults to a backlog of a few frames and refuses a backlog below 1', async () => {
    expect(DEFAULT_FRAME_BACKLOG).toBeGreaterThanOrEqual(2);
    const spool = await newSpool(1);
    expect(() => new FrameRecorder(spool, { maxBacklog: 0 })).toThrow(new RangeError('maxBacklog must be a whole number of at least 1, got 0.'));
    expect(() => new FrameRecorder(spool, { maxBacklog: 1.5 })).toThrow(RangeError);
  });
});
