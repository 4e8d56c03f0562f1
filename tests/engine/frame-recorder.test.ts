// FrameRecorder and FrameSpool behind a run that blocks its thread: onnxruntime-node runs each iteration's graph
// synchronously on the JS thread, so the event loop turns about once an iteration. Frames still reach disk within an
// iteration or so of being captured.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/engine/image.js';
import type { LossBreakdown } from '../../src/engine/objective.js';
import type { RunEvent, RunResult } from '../../src/engine/run.js';
import { FRAMES_INDEX_FILE, FrameRecorder, FrameSpool, type FramesIndex } from '../../src/engine/video/frames.js';

/** A 4x3 image of one grey level: each frame's pixels tell which iteration it shows. */
const image = (level: number): RgbImage => ({ width: 4, height: 3, data: new Float32Array(36).fill(level) });

const progress = (iteration: number, iterations: number): RunEvent => ({
  type: 'progress',
  iteration,
  iterations,
  loss: { total: 1000 - iteration, style: {}, content: {}, tv: 0 },
  ms: 1,
  image: image(iteration),
});

const lossOf = (total: number): LossBreakdown => ({ total, style: {}, content: {}, tv: 0 });
const result = (iterations: number): RunResult => ({ image: image(iterations), iterations, initialLoss: lossOf(1000), finalLoss: lossOf(900), stopped: false, device: 'cpu' });

/** The iterations the spool's index on disk lists now (read synchronously: the reading takes no event-loop turn). */
function onDisk(spool: FrameSpool): number[] {
  let text: string;
  try {
    text = readFileSync(path.join(spool.dir, FRAMES_INDEX_FILE), 'utf8');
  } catch {
    return [];
  }
  return (JSON.parse(text) as FramesIndex).frames.map((f) => f.iteration);
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
  });
});
