// A disk that fills up mid-run loses no work: on a real full file system (a small tmpfs), an atomic write over a file
// leaves the old one whole and no temporary file, a checkpoint that cannot be written leaves the last good one
// readable, and each failure says, in words, which file and what to do.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NstError } from '../../src/engine/errors.js';
import { writeImageAtomic } from '../../src/engine/io/image.js';
import { readCheckpoint } from '../../src/engine/persist/checkpoint.js';
import { CheckpointWriter } from '../../src/engine/persist/checkpoint-writer.js';
import { newRunId, runDir } from '../../src/engine/persist/run-folder.js';
import type { RenderState } from '../../src/engine/render/render.js';
import { writeFileAtomic } from '../../src/engine/sys/atomic-file.js';
import { asNstError } from '../../src/engine/sys/fs-errors.js';
import { mountSmallDisk, whyNoSmallDisk, type SmallDisk } from '../helpers/tmpfs.js';

/** A small render state: a 2x2 image and Adam's moments, filled with `fill`. */
function state(iteration: number, fill: number): RenderState {
  const loss = { total: 1, style: {}, content: {}, tv: 0 };
  return {
    plan: { mode: 'whole', sizePx: 2, estimateBytes: 1000 },
    phase: 'scale',
    stage: {
      index: 0,
      iterationsBefore: 0,
      run: {
        iteration,
        image: new Float32Array(12).fill(fill),
        optimizer: { name: 'adam', iteration, buffers: { m: new Float32Array(12).fill(fill), v: new Float32Array(12).fill(fill) }, scalars: { updates: iteration } },
        objectiveScale: 1,
        carried: null,
        initialLoss: loss,
        weights: null,
      },
    },
  };
}

describe.skipIf(whyNoSmallDisk !== null)(`a disk that fills up mid-run${whyNoSmallDisk ? ` (skipped: ${whyNoSmallDisk})` : ''}`, () => {
  let disk: SmallDisk;
  beforeEach(() => {
    disk = mountSmallDisk(256);
  });
  afterEach(() => disk.unmount());

  it('an atomic write over a file fails as DISK_FULL naming that file, and the old file stays whole with no debris', async () => {
    const file = path.join(disk.dir, 'painted.png');
    await writeFile(file, 'the previous picture');
    disk.fill(0);
    const error = await writeFileAtomic(file, new Uint8Array(64 * 1024)).catch((e: unknown) => e);
    // The errno is kept (callers may look at it); the sentence names the file, not its temporary one.
    expect(error).toMatchObject({ code: 'ENOSPC' });
    expect(asNstError(error)).toMatchObject({
      code: 'DISK_FULL',
      message: `Cannot write ${file}: the disk it is on is full (ENOSPC). Free some space there or choose a folder on another disk, then try again.`,
    });
    expect(await readFile(file, 'utf8')).toBe('the previous picture');
    expect((await readdir(disk.dir)).sort()).toEqual(['filler.bin', 'painted.png']);
  });

  it('the final image written over a previous output on a full disk keeps the previous output', async () => {
    const file = path.join(disk.dir, 'out.png');
    await writeFile(file, 'yesterday');
    disk.fill(0);
    const image = { width: 32, height: 32, data: new Float32Array(3 * 32 * 32).map((_, i) => (i * 37) % 256) };
    await expect(writeImageAtomic(file, image).catch((e: unknown) => Promise.reject(asNstError(e)))).rejects.toMatchObject({ code: 'DISK_FULL', message: expect.stringContaining(`Cannot write ${file}:`) });
    expect(await readFile(file, 'utf8')).toBe('yesterday');
    expect((await readdir(disk.dir)).sort()).toEqual(['filler.bin', 'out.png']);
  });

  it('a checkpoint that no longer fits is reported as DISK_FULL and the last good one stays readable, with no debris', async () => {
    const runId = newRunId();
    const errors: unknown[] = [];
    const writer = new CheckpointWriter({ runId, root: disk.dir, everyMs: 0, job: null, totalIterations: () => 10, onError: (e) => errors.push(e) });
    await writer.save(state(3, 0.5));
    expect(errors).toEqual([]);
    disk.fill(0);
    await writer.save(state(4, 0.75));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(NstError);
    expect(errors[0]).toMatchObject({ code: 'DISK_FULL', message: expect.stringMatching(new RegExp(`^Cannot write ${runDir(runId, disk.dir)}/[\\w.-]+: the disk it is on is full \\(ENOSPC\\)`)) });
    const kept = await readCheckpoint(runId, disk.dir);
    expect(kept.manifest.generation).toBe(1);
    expect(kept.manifest.progress.iteration).toBe(3);
    expect(Array.from(kept.state.stage.run.image)).toEqual(new Array(12).fill(0.5));
    expect((await readdir(runDir(runId, disk.dir))).filter((name) => name.endsWith('.tmp') || name === 'run-2.bin')).toEqual([]);
    await writer.close();
  });
});
