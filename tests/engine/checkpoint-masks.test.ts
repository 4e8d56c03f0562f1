// A render's masks in its checkpoint: written once as raw float32 (masks-N.bin) with their sizes in state.masks, read
// back as they were; a checkpoint without masks has no state.masks and reads as before; a size that does not match
// its buffer is refused.

import { mkdtempSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_FILE, readCheckpoint } from '../../src/engine/persist/checkpoint.js';
import { CheckpointWriter } from '../../src/engine/persist/checkpoint-writer.js';
import { newRunId, runDir } from '../../src/engine/persist/run-folder.js';
import type { RenderState } from '../../src/engine/render/render.js';
import type { LossMasks } from '../../src/engine/model/masks.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'nst-checkpoint-masks-'));

function state(iteration: number, masks?: LossMasks): RenderState {
  return {
    plan: { mode: 'whole', sizePx: 4, estimateBytes: 1 },
    phase: 'scale',
    stage: { index: 0, iterationsBefore: 0, run: { iteration, image: new Float32Array(3 * 4 * 2).fill(iteration), optimizer: { name: 'adam', iteration, buffers: {}, scalars: {} }, objectiveScale: 1, carried: null, initialLoss: null, weights: null } },
    ...(masks ? { masks } : {}),
  };
}

const masks: LossMasks = {
  styles: [
    { width: 4, height: 2, data: Float32Array.from([1, 1, 1, 1, 0, 0, 0, 0]) },
    { width: 2, height: 3, data: Float32Array.from([0, 0.25, 0.5, 0.75, 1, 0.125]) },
  ],
  content: { width: 1, height: 2, data: Float32Array.from([0.5, 1]) },
};

async function write(root: string, runId: string, states: RenderState[]): Promise<void> {
  const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 10 });
  for (const s of states) await writer.save(s);
  await writer.close();
}

describe('a checkpoint\'s masks', () => {
  it('round-trip with their sizes, written once for all of the run\'s checkpoints', async () => {
    const root = tmp();
    const runId = newRunId();
    await write(root, runId, [state(1, masks), state(2, masks)]);
    const { manifest, state: read } = await readCheckpoint(runId, root);
    expect(manifest.state.masks).toEqual({ styles: [{ width: 4, height: 2 }, { width: 2, height: 3 }], content: { width: 1, height: 2 } });
    expect(manifest.files.map((f) => f.name).sort()).toEqual(['masks-1.bin', 'run-2.bin']);
    expect(read.stage.run.iteration).toBe(2);
    expect(read.masks).toEqual(masks);
    // Style masks only: no content mask.
    const styleOnly = newRunId();
    await write(root, styleOnly, [state(1, { styles: masks.styles! })]);
    expect((await readCheckpoint(styleOnly, root)).state.masks).toEqual({ styles: masks.styles });
  });

  it('are absent for a run without them, whose checkpoint reads as before', async () => {
    const root = tmp();
    const runId = newRunId();
    await write(root, runId, [state(1)]);
    const { manifest, state: read } = await readCheckpoint(runId, root);
    expect(manifest.state.masks).toBeUndefined();
    expect('masks' in read).toBe(false);
    expect((await readdir(runDir(runId, root))).filter((n) => n.startsWith('masks-'))).toEqual([]);
  });

  it('a mask size that does not match its buffer is a damaged checkpoint, named (BAD_CHECKPOINT)', async () => {
    const root = tmp();
    const runId = newRunId();
    await write(root, runId, [state(1, masks)]);
    const file = path.join(runDir(runId, root), MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { state: { masks: { styles: { width: number }[] } } };
    manifest.state.masks.styles[0]!.width = 5;
    await writeFile(file, JSON.stringify(manifest));
    await expect(readCheckpoint(runId, root)).rejects.toThrow(`Run ${runId} cannot be resumed: its mask.style.0 buffer holds 8 values, not the 5x2 its manifest says.`);
  });
});
