// Checkpoints: a run snapshotted at iteration k and resumed ends where the uninterrupted run ends (single-scale
// L-BFGS and Adam, multi-scale, tiled), and checkpoint folders that are torn, corrupt or foreign are refused by name.

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunController, mapCheckpointSink, runStyleTransfer, type CheckpointSink, type RunSettings, type RunSnapshot } from '../../src/engine/render/run.js';
import { runMultiScale, type StageState } from '../../src/engine/render/multiscale.js';
import { runTiled, type TiledState } from '../../src/engine/render/tiles/run.js';
import { renderStyleTransfer, type RenderState } from '../../src/engine/render/render.js';
import { checkCheckpointWeights, listCheckpoints, MANIFEST_FILE, readCheckpoint } from '../../src/engine/persist/checkpoint.js';
import { CheckpointWriter } from '../../src/engine/persist/checkpoint-writer.js';
import { newRunId, runDir } from '../../src/engine/persist/run-folder.js';
import { checkNotRunning, LOCK_FILE, removeRun, runOwner, takeRun } from '../../src/engine/persist/run-lock.js';
import { processStartTime } from '../../src/engine/sys/process-alive.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { decodeImage } from '../../src/engine/io/image.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { weightsFingerprint } from '../../src/engine/weights/fingerprint.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';
import type { OptimizerName } from '../../src/engine/optim/types.js';
import type { PlanarImage } from '../../src/engine/io/image.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const present = hasShared('data', 'vgg19-imagenet-uint8') && hasShared('data', 'images', 'content_tubingen_64.png');

let cached: Promise<{ weights: Vgg19Weights; content: PlanarImage; styles: PlanarImage[] }> | null = null;
function realInputs(): Promise<{ weights: Vgg19Weights; content: PlanarImage; styles: PlanarImage[] }> {
  cached ??= (async () => ({
    weights: await loadWeights(sharedPath('data', 'vgg19-imagenet-uint8')),
    content: await decodeImage(sharedPath('data', 'images', 'content_tubingen_64.png')),
    styles: [await decodeImage(sharedPath('data', 'images', 'style_starry_night_64.png'))],
  }))();
  return cached;
}

const settings = (optimizer: OptimizerName, iterations: number): RunSettings => ({
  ...DEFAULT_RUN_SETTINGS,
  optimizer,
  iterations,
  device: 'cpu',
  threads: 2,
});

/** A sink that snapshots after every iteration and keeps them all (the run is short, the images 64 px). */
function recorder<T>(): CheckpointSink<T> & { states: T[] } {
  const states: T[] = [];
  return { states, due: () => true, save: (state) => void states.push(state) };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe.skipIf(!present)('a run resumed from a checkpoint ends where the uninterrupted run ends (real uint8 VGG19, 64 px)', () => {
  for (const optimizer of ['lbfgs', 'adam'] as const) {
    it(`${optimizer}: snapshot at iteration 3 of 8, resumed: same iteration count, same image and loss`, async () => {
      const inputs = await realInputs();
      const sink = recorder<RunSnapshot>();
      const whole = await runStyleTransfer(inputs, settings(optimizer, 8), { checkpoint: sink });
      // Snapshots after iterations 1..7 (none after the last: there is nothing left to resume).
      expect(sink.states.map((s) => s.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      const at3 = sink.states[2]!;
      expect(at3.objectiveScale).toBeGreaterThan(0);

      const resumed = await runStyleTransfer({ ...inputs, resume: at3 }, settings(optimizer, 8));
      expect(resumed.iterations).toBe(8);
      expect(resumed.initialLoss.total).toBe(whole.initialLoss.total);
      const diff = maxAbsDiff(resumed.image.data, whole.image.data);
      const relative = Math.abs(resumed.finalLoss.total - whole.finalLoss.total) / whole.finalLoss.total;
      console.log(`[checkpoint] ${optimizer}: final loss ${whole.finalLoss.total} uninterrupted, ${resumed.finalLoss.total} resumed (relative ${relative.toExponential(2)}, max pixel diff ${diff})`);
      expect(relative).toBeLessThan(1e-6);
      expect(diff).toBeLessThan(1e-3);

      // The control, so this test can fail: the same resume without the optimizer's memory (Adam's moments,
      // L-BFGS's curvature pairs) takes other steps and ends elsewhere.
      const forgetful: RunSnapshot = {
        ...at3,
        carried: null,
        optimizer:
          optimizer === 'lbfgs'
            ? { ...at3.optimizer, scalars: { ...at3.optimizer.scalars, historyCount: 0, newestSlot: -1, hasEvaluation: 0, anchorLoss: 0 } }
            : { ...at3.optimizer, buffers: { m: new Float32Array(at3.image.length), v: new Float32Array(at3.image.length) }, scalars: { updates: 0 } },
      };
      const restarted = await runStyleTransfer({ ...inputs, resume: forgetful }, settings(optimizer, 8));
      expect(restarted.iterations).toBe(8);
      expect(Math.abs(restarted.finalLoss.total - whole.finalLoss.total) / whole.finalLoss.total).toBeGreaterThan(1e-4);
    });
  }

  it('a stopped run leaves a final snapshot that continues to the same end', async () => {
    const inputs = await realInputs();
    const whole = await runStyleTransfer(inputs, settings('lbfgs', 6));
    const controller = new RunController();
    const finals: RunSnapshot[] = [];
    const stopped = await runStyleTransfer(inputs, settings('lbfgs', 6), {
      controller,
      checkpoint: { due: () => false, save: (state, o) => void (o?.final && finals.push(state)) },
      onEvent: (e) => e.type === 'progress' && e.iteration === 3 && controller.stop(),
    });
    expect(stopped).toMatchObject({ stopped: true, iterations: 3 });
    expect(finals.map((s) => s.iteration)).toEqual([3]);
    const resumed = await runStyleTransfer({ ...inputs, resume: finals[0]! }, settings('lbfgs', 6));
    expect(resumed.iterations).toBe(6);
    expect(Math.abs(resumed.finalLoss.total - whole.finalLoss.total) / whole.finalLoss.total).toBeLessThan(1e-6);
  });

  it('a run stopped before its first step leaves a snapshot at iteration 0, with the scale its first step would take, that continues to the same end', async () => {
    const inputs = await realInputs();
    const whole = await runStyleTransfer(inputs, settings('lbfgs', 4));
    const controller = new RunController();
    // Stopped before the run began (a signal during the setup).
    controller.stop();
    const finals: RunSnapshot[] = [];
    const stopped = await runStyleTransfer(inputs, settings('lbfgs', 4), { controller, checkpoint: { due: () => false, save: (state, o) => void (o?.final && finals.push(state)) } });
    expect(stopped).toMatchObject({ stopped: true, iterations: 0 });
    expect(finals.map((s) => [s.iteration, s.initialLoss])).toEqual([[0, null]]);
    expect(finals[0]!.objectiveScale).toBeGreaterThan(0);
    const resumed = await runStyleTransfer({ ...inputs, resume: finals[0]! }, settings('lbfgs', 4));
    expect(resumed.iterations).toBe(4);
    expect(resumed.initialLoss.total).toBe(whole.initialLoss.total);
    expect(Math.abs(resumed.finalLoss.total - whole.finalLoss.total) / whole.finalLoss.total).toBeLessThan(1e-6);
  });

  it('multi-scale (32 then 64 px): resumed inside the second scale, the total iteration count and the result match', async () => {
    const inputs = await realInputs();
    const sink = recorder<StageState>();
    // 8 iterations at 64 px after a quarter of them (2) at 32 px.
    const whole = await runMultiScale(inputs, settings('lbfgs', 8), { scales: 2, checkpoint: sink });
    expect(whole.iterations).toBe(10);
    const inSecond = sink.states.find((s) => s.index === 1 && s.run.iteration === 2)!;
    expect(inSecond.iterationsBefore).toBe(2);
    const resumed = await runMultiScale(inputs, settings('lbfgs', 8), { scales: 2, resume: inSecond });
    expect(resumed.iterations).toBe(10);
    expect(Math.abs(resumed.finalLoss.total - whole.finalLoss.total) / whole.finalLoss.total).toBeLessThan(1e-6);
    // And one inside the first scale continues through the second.
    const inFirst = sink.states.find((s) => s.index === 0 && s.run.iteration === 1)!;
    const fromFirst = await runMultiScale(inputs, settings('lbfgs', 8), { scales: 2, resume: inFirst });
    expect(fromFirst.iterations).toBe(10);
    expect(Math.abs(fromFirst.finalLoss.total - whole.finalLoss.total) / whole.finalLoss.total).toBeLessThan(1e-6);
  });

  it('tiled (4 tiles of 40 px after a 32-px pass): resumed inside tile 3 with tiles 1-2 blended in, the same image', async () => {
    const inputs = await realInputs();
    const sink = recorder<TiledState>();
    const tiling = { tilePx: 40, overlapPx: 8, coherencePx: 32, scales: 'off' as const };
    const whole = await runTiled(inputs, settings('adam', 4), { ...tiling, checkpoint: sink });
    expect(whole.tiles.length).toBe(4);
    expect(whole.iterations).toBe(20);
    const inTile3 = sink.states.find((s) => s.phase === 'tile' && s.stage.index === 2 && s.stage.run.iteration === 2)!;
    expect(inTile3.stage.iterationsBefore).toBe(12);
    // Every snapshot of one tile shares one canvas copy (so a writer stores it once per tile).
    const tile3 = sink.states.filter((s) => s.phase === 'tile' && s.stage.index === 2);
    expect(new Set(tile3.map((s) => (s.phase === 'tile' ? s.canvas : null))).size).toBe(1);
    const resumed = await runTiled(inputs, settings('adam', 4), { ...tiling, resume: inTile3 });
    expect(resumed.iterations).toBe(20);
    expect(resumed.tiles.length).toBe(4);
    expect(maxAbsDiff(resumed.image.data, whole.image.data)).toBeLessThan(1e-3);
    expect(resumed.initialLoss.total).toBe(whole.initialLoss.total);
  });

  it('refuses a resume state that belongs to another run, naming the mismatch', async () => {
    const inputs = await realInputs();
    const sink = recorder<RunSnapshot>();
    await runStyleTransfer(inputs, settings('adam', 3), { checkpoint: sink });
    const state = sink.states[0]!;
    await expect(runStyleTransfer({ ...inputs, resume: state }, settings('lbfgs', 3))).rejects.toThrow(/holds a adam optimizer; this run uses lbfgs/);
    await expect(runStyleTransfer({ ...inputs, resume: state }, settings('adam', 0))).rejects.toThrow(/at iteration 1; this run has 0 iterations/);
    const small = { ...inputs, content: await decodeImage(sharedPath('data', 'images', 'content_tubingen_64.png'), { sizePx: 32 }) };
    await expect(runStyleTransfer({ ...small, resume: state }, settings('adam', 3))).rejects.toThrow(/12288 values; a 32x32 image needs 3072/);
  });
});

// --- the files -------------------------------------------------------------------------------------------------

/** A small synthetic render state (no weights needed): 2x2 image, L-BFGS-shaped buffers. */
function fakeState(iteration: number, fill: number): RenderState {
  const loss = { total: 1.5, style: { block1_conv1: 1 }, content: { block4_conv2: 0.5 }, tv: 0 };
  return {
    plan: { mode: 'whole', sizePx: 2, estimateBytes: 1000 },
    phase: 'scale',
    stage: {
      index: 0,
      iterationsBefore: 0,
      run: {
        iteration,
        image: new Float32Array(12).fill(fill),
        optimizer: { name: 'adam', iteration, buffers: { m: new Float32Array(12).fill(fill / 2), v: new Float32Array(12).fill(0.25) }, scalars: { updates: iteration } },
        objectiveScale: 123.456789,
        carried: null,
        initialLoss: loss,
        weights: null,
      },
    },
  };
}

async function writeOne(root: string, runId: string, states: RenderState[]): Promise<CheckpointWriter<{ output: string }>> {
  const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: { output: '/tmp/x.png' }, totalIterations: () => 10 });
  for (const state of states) {
    writer.save(state);
    await writer.flush();
  }
  return writer;
}

describe('checkpoint files', () => {
  const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'nst-checkpoint-'));

  it('round-trips a state exactly and keeps only the newest generation\'s data', async () => {
    const root = tmp();
    const runId = newRunId();
    const writer = await writeOne(root, runId, [fakeState(3, 10), fakeState(4, 20)]);
    expect(writer.last?.generation).toBe(2);
    expect((await readdir(runDir(runId, root))).sort()).toEqual([MANIFEST_FILE, LOCK_FILE, 'run-2.bin']);
    // The lock names this process, when it started and what it does; until the writer closes, the run is owned.
    expect(JSON.parse(await readFile(path.join(runDir(runId, root), LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, start: await processStartTime(process.pid), command: 'nst run' });
    expect(await runOwner(runId, root)).toMatchObject({ state: 'running', pid: process.pid, sure: true });
    const { manifest, state } = await readCheckpoint<{ output: string }>(runId, root);
    expect(manifest).toMatchObject({ runId, job: { output: '/tmp/x.png' }, progress: { iteration: 4, totalIterations: 10 }, stopped: false });
    const expected = fakeState(4, 20);
    expect(state.stage.run.image).toEqual(expected.stage.run.image);
    expect(state.stage.run.optimizer).toEqual(expected.stage.run.optimizer);
    expect(state.stage.run.objectiveScale).toBe(123.456789);
    expect(state.plan).toEqual(expected.plan);
    expect((await listCheckpoints(root)).map((c) => [c.runId, c.manifest?.progress.iteration])).toEqual([[runId, 4]]);
    await writer.remove();
    expect(await listCheckpoints(root)).toEqual([]);
  });

  it('round-trips a tiled render\'s state: its plan, the tile canvas and the pass\'s first loss, with loss weights set mid-run', async () => {
    const root = tmp();
    const runId = newRunId();
    const base = fakeState(2, 5);
    const passInitialLoss = { total: 9, style: { block1_conv1: 4 }, content: { block4_conv2: 5 }, tv: 0.5 };
    const tiled: RenderState = {
      plan: { mode: 'tiled', tilePx: 64, overlapPx: 8, coherencePx: 32, tiles: 4, estimateBytes: 5e6 },
      phase: 'tile',
      stage: { ...base.stage, index: 2, iterationsBefore: 12, run: { ...base.stage.run, weights: { styleWeight: 2, contentWeight: 1, tvWeight: 0, layerWeights: { block1_conv1: 0.5 }, normalize: true } } },
      canvas: { width: 2, height: 2, base: new Float32Array(12).fill(1), sum: new Float32Array(12).fill(2), coverage: new Float32Array(4).fill(3) },
      passInitialLoss,
    };
    await writeOne(root, runId, [tiled]);
    const { state } = await readCheckpoint(runId, root);
    expect(state.plan).toEqual(tiled.plan);
    expect(state.phase).toBe('tile');
    expect(state.stage).toMatchObject({ index: 2, iterationsBefore: 12 });
    expect(state.stage.run.weights).toEqual(tiled.stage.run.weights);
    expect(state.canvas).toEqual(tiled.canvas);
    expect(state.passInitialLoss).toEqual(passInitialLoss);
  });

  it('due() is false while a write is in flight and until the interval has passed', async () => {
    const root = tmp();
    const writer = new CheckpointWriter({ runId: newRunId(), root, everyMs: 50, job: null, totalIterations: () => 1 });
    expect(writer.due()).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(writer.due()).toBe(true);
    writer.save(fakeState(1, 1));
    expect(writer.due()).toBe(false);
    writer.save(fakeState(2, 2)); // ignored: one write at a time
    await writer.flush();
    expect(writer.last?.progress.iteration).toBe(1);
    expect(writer.due()).toBe(false);
    writer.save(fakeState(3, 3), { final: true });
    await writer.flush();
    expect(writer.last).toMatchObject({ generation: 2, stopped: true, progress: { iteration: 3 } });
  });

  it('a write torn before its manifest leaves the previous checkpoint readable; the next write clears the debris', async () => {
    const root = tmp();
    const runId = newRunId();
    await (await writeOne(root, runId, [fakeState(3, 10)])).close();
    const dir = runDir(runId, root);
    // What a kill -9 between the data file and the manifest leaves: a newer data file and a temp file.
    await writeFile(path.join(dir, 'run-2.bin'), new Uint8Array(40));
    await writeFile(path.join(dir, `.checkpoint.json.${deadPid()}.0000abcd.tmp`), '{"format":');
    expect((await readCheckpoint(runId, root)).state.stage.run.iteration).toBe(3);
    const next = new CheckpointWriter({ runId, root, everyMs: 0, job: { output: '/tmp/x.png' }, totalIterations: () => 10 });
    next.continueFrom((await readCheckpoint(runId, root)).manifest);
    next.save(fakeState(5, 30));
    await next.flush();
    expect((await readdir(dir)).sort()).toEqual([MANIFEST_FILE, LOCK_FILE, 'run-2.bin']);
    expect((await readCheckpoint(runId, root)).state.stage.run.iteration).toBe(5);
  });

  it('a writer opening a run folder deletes the temporary files of dead writers and keeps a live process\'s', async () => {
    const root = tmp();
    const runId = newRunId();
    const dir = runDir(runId, root);
    await mkdir(dir, { recursive: true });
    const dead = deadPid();
    // A kill -9 mid-write (a data file's temp, the manifest's temp) and a temp file of a live process (this one).
    const stale = [`.run-4.bin.${dead}.0badf00d.tmp`, `.checkpoint.json.${dead}.12345678.tmp`];
    const live = `.run-9.bin.${process.pid}.cafebabe.tmp`;
    for (const name of [...stale, live]) await writeFile(path.join(dir, name), 'partial');
    const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 10 });
    await writer.save(fakeState(1, 1));
    expect(writer.last?.generation).toBe(1);
    expect((await readdir(dir)).sort()).toEqual([live, MANIFEST_FILE, LOCK_FILE, 'run-1.bin'].sort());
    // Later generations keep it too: only a writer that is gone leaves debris.
    await writer.save(fakeState(2, 2));
    expect(await readdir(dir)).toContain(live);
  });

  describe('refuses, by name and reason', () => {
    const cases: { name: string; damage: (dir: string) => Promise<void>; code: string; message: RegExp }[] = [
      { name: 'a folder without a manifest (torn first checkpoint)', damage: (d) => rm(path.join(d, MANIFEST_FILE)), code: 'BAD_CHECKPOINT', message: /holds no checkpoint\.json \(the run stopped before its first checkpoint was complete\)/ },
      { name: 'a manifest that is not JSON', damage: (d) => writeFile(path.join(d, MANIFEST_FILE), '{"format": "nst-che'), code: 'BAD_CHECKPOINT', message: /checkpoint\.json is not valid JSON/ },
      { name: 'a manifest of another format version', damage: (d) => editManifest(d, (m) => ({ ...m, version: 99 })), code: 'BAD_CHECKPOINT', message: /format version 99; this nst reads version 1/ },
      { name: 'a manifest of another run', damage: (d) => editManifest(d, (m) => ({ ...m, runId: 'someone-else' })), code: 'BAD_CHECKPOINT', message: /belongs to run "someone-else"/ },
      { name: 'a manifest without its optimizer', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, stage: { ...m.state.stage, run: { ...m.state.stage.run, optimizer: undefined } } } })), code: 'BAD_CHECKPOINT', message: /lacks state\.stage\.run\.optimizer/ },
      { name: 'a manifest with a NaN scale (written as null)', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, stage: { ...m.state.stage, run: { ...m.state.stage.run, objectiveScale: null } } } })), code: 'BAD_CHECKPOINT', message: /no usable state\.stage\.run\.objectiveScale/ },
      { name: 'a manifest that is a JSON list', damage: (d) => editManifest(d, () => []), code: 'BAD_CHECKPOINT', message: /its checkpoint\.json is not a JSON object\.$/ },
      { name: 'a manifest without a format', damage: (d) => editManifest(d, ({ format: _, ...m }) => m), code: 'BAD_CHECKPOINT', message: /its checkpoint\.json is not an nst checkpoint \(it names no format\)\.$/ },
      { name: 'a manifest of another version and another shape', damage: (d) => editManifest(d, () => ({ format: 'nst-checkpoint', version: 2, layout: 'new' })), code: 'BAD_CHECKPOINT', message: /format version 2; this nst reads version 1\.$/ },
      { name: 'a manifest with an unknown phase', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, phase: 'sideways' } })), code: 'BAD_CHECKPOINT', message: /has an unknown phase "sideways"\.$/ },
      { name: 'a manifest with an unknown plan mode', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, plan: { mode: 'spiral' } } })), code: 'BAD_CHECKPOINT', message: /has an unknown plan mode "spiral"\.$/ },
      { name: 'a manifest with an unknown optimizer', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, stage: { ...m.state.stage, run: { ...m.state.stage.run, optimizer: { name: 'sgd', iteration: 1, scalars: {} } } } } })), code: 'BAD_CHECKPOINT', message: /names an unknown optimizer "sgd"\.$/ },
      { name: 'a manifest with a negative iteration', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, stage: { ...m.state.stage, run: { ...m.state.stage.run, iteration: -1 } } } })), code: 'BAD_CHECKPOINT', message: /has no valid state\.stage\.run\.iteration \(a whole number ≥ 0, got -1\)\.$/ },
      { name: 'a manifest whose optimizer scalars are a list', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, stage: { ...m.state.stage, run: { ...m.state.stage.run, optimizer: { name: 'adam', iteration: 1, scalars: [1] } } } } })), code: 'BAD_CHECKPOINT', message: /lacks state\.stage\.run\.optimizer\.scalars \(or it is not an object\)\.$/ },
      { name: 'a manifest with a loss that is not a number', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, stage: { ...m.state.stage, run: { ...m.state.stage.run, initialLoss: { total: 1, style: { block1_conv1: 'big' }, content: {}, tv: 0 } } } } })), code: 'BAD_CHECKPOINT', message: /has no valid state\.stage\.run\.initialLoss\.style\.block1_conv1 \(a finite number, got "big"\)\.$/ },
      { name: 'a tile-phase manifest without its canvas', damage: (d) => editManifest(d, (m) => ({ ...m, state: { ...m.state, phase: 'tile', passInitialLoss: { total: 1, style: {}, content: {}, tv: 0 } } })), code: 'BAD_CHECKPOINT', message: /its checkpoint\.json lacks state\.canvas\.$/ },
      { name: 'a manifest with a CRC-32 wider than 32 bits', damage: (d) => editManifest(d, (m) => ({ ...m, files: [{ ...m.files[0], crc32: 2 ** 32 }] })), code: 'BAD_CHECKPOINT', message: /has no valid files\[0\]\.crc32 \(a whole number from 0 to 4294967295, got 4294967296\)\.$/ },
      { name: 'a manifest without its generation', damage: (d) => editManifest(d, ({ generation: _, ...m }) => m), code: 'BAD_CHECKPOINT', message: /its checkpoint\.json lacks generation\.$/ },
      { name: 'a manifest whose save time is not a time', damage: (d) => editManifest(d, (m) => ({ ...m, updatedAt: 'yesterday' })), code: 'BAD_CHECKPOINT', message: /has no valid updatedAt \(a date and time such as 2026-11-29T11:56:38\.451Z, got "yesterday"\)\.$/ },
      { name: 'a manifest naming a path outside the folder', damage: (d) => editManifest(d, (m) => ({ ...m, files: [{ ...m.files[0], name: '../../etc/passwd' }] })), code: 'BAD_CHECKPOINT', message: /names a data file "\.\.\/\.\.\/etc\/passwd" it cannot have written/ },
      { name: 'a missing data file', damage: (d) => rm(path.join(d, 'run-1.bin')), code: 'BAD_CHECKPOINT', message: /its data file run-1\.bin is missing/ },
      { name: 'a truncated data file', damage: (d) => truncate(path.join(d, 'run-1.bin'), 100), code: 'BAD_CHECKPOINT', message: /run-1\.bin holds 100 bytes, the manifest says 144 \(the file was cut short or replaced\)/ },
      {
        name: 'a data file with one flipped byte',
        damage: async (d) => {
          const bytes = await readFile(path.join(d, 'run-1.bin'));
          bytes[7]! ^= 0x40;
          await writeFile(path.join(d, 'run-1.bin'), bytes);
        },
        code: 'BAD_CHECKPOINT',
        message: /run-1\.bin is corrupt \(CRC-32 0x[0-9a-f]{8}, the manifest says 0x[0-9a-f]{8}\)/,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const root = tmp();
        const runId = newRunId();
        await writeOne(root, runId, [fakeState(3, 10)]);
        await c.damage(runDir(runId, root));
        const error = await readCheckpoint(runId, root).then(() => null, (e: unknown) => e);
        expect(error).toMatchObject({ code: c.code });
        expect((error as Error).message).toMatch(new RegExp(`^Run ${runId} cannot be resumed: `));
        expect((error as Error).message).toMatch(c.message);
        // Listed with its problem, not hidden and not fatal to the listing.
        if (c.code === 'BAD_CHECKPOINT' && !/data file/.test(c.name)) expect((await listCheckpoints(root))[0]!.problem).toMatch(c.message);
      });
    }

    it('an unknown run id, and one that is a path', async () => {
      const root = tmp();
      await expect(readCheckpoint('20260101-000000-beef', root)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringMatching(/No run 20260101-000000-beef in .*runs: `nst runs` lists the runs that can be resumed\./) });
      await expect(readCheckpoint('../weights', root)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/"\.\.\/weights" is not a run id/) });
      await expect(removeRun('a/b', { root, command: 'test' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    });
  });
});

describe('the run\'s owner (its lock file)', () => {
  const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'nst-checkpoint-owner-'));
  const lockOf = (root: string, runId: string): string => path.join(runDir(runId, root), LOCK_FILE);

  it('no lock file, or one whose process is gone: no owner, and the run is taken with a note naming the old owner', async () => {
    const root = tmp();
    const runId = newRunId();
    expect(await runOwner(runId, root)).toEqual({ state: 'none' });
    await mkdir(runDir(runId, root), { recursive: true });
    expect(await runOwner(runId, root)).toEqual({ state: 'none' });
    const dead = deadPid();
    await writeFile(lockOf(root, runId), `${dead}\n`);
    expect(await runOwner(runId, root)).toEqual({ state: 'none' });
    await expect(checkNotRunning(runId, root)).resolves.toBeUndefined();
    const notes: string[] = [];
    const lock = await takeRun(runId, { root, command: 'nst resume x', note: (line) => notes.push(line) });
    expect(notes).toEqual([`run ${runId}: its owner, process ${dead} (an older nst), is gone (exited); taking it over.`]);
    await lock.release();
    await expect(readFile(lockOf(root, runId))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a live owner: running, RUN_IN_USE naming it and what it does, taken over only when forced (with a warning)', async () => {
    const root = tmp();
    const runId = newRunId();
    await mkdir(runDir(runId, root), { recursive: true });
    const first = await takeRun(runId, { root, command: `nst resume ${runId}` });
    expect(await runOwner(runId, root)).toMatchObject({ state: 'running', pid: process.pid, sure: true, command: `nst resume ${runId}` });
    const inUse = new RegExp(`^Run ${runId} is in use by nst in process ${process.pid} \\(nst resume ${runId}, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\): let it finish, or stop that nst; if it is stuck, run it again with --force to take it over\\.$`);
    await expect(takeRun(runId, { root, command: 'second', forceHint: 'run it again with --force' })).rejects.toMatchObject({ code: 'RUN_IN_USE', message: expect.stringMatching(inUse) });
    await expect(checkNotRunning(runId, root)).rejects.toMatchObject({ code: 'RUN_IN_USE' });
    const notes: string[] = [];
    const forced = await takeRun(runId, { root, command: 'forced', takeOver: 'live', note: (line) => notes.push(line) });
    expect(notes).toEqual([expect.stringMatching(new RegExp(`^warning: --force: taking run ${runId} over from process ${process.pid}, which is still running \\(nst resume ${runId}, since .* UTC\\); if it still works on this run, the two will write over each other's files\\.$`))]);
    // The first owner, finishing, leaves the forced one's lock alone (and cannot delete the run any more).
    await first.release();
    await first.remove();
    expect(await runOwner(runId, root)).toMatchObject({ state: 'running', command: 'forced' });
    await forced.remove();
    await expect(readdir(path.join(root, 'runs'))).resolves.toEqual([]);
  });

  it('a lock that cannot be read is "unknown" (never an error that hides the run); taking it needs takeOver unknown', async () => {
    const root = tmp();
    const runId = newRunId();
    await mkdir(lockOf(root, runId), { recursive: true }); // owner.pid is a folder
    expect(await runOwner(runId, root)).toEqual({ state: 'unknown', why: 'its lock file cannot be read (EISDIR)' });
    await expect(checkNotRunning(runId, root)).resolves.toBeUndefined();
    await expect(takeRun(runId, { root, command: 'x', forceHint: 'run it again with --force' })).rejects.toMatchObject({
      code: 'RUN_IN_USE',
      message: `Cannot tell whether run ${runId} is in use: its lock file ${lockOf(root, runId)} cannot be read (EISDIR). If no nst is working on this run, run it again with --force to take it over.`,
    });
    const notes: string[] = [];
    await removeRun(runId, { root, command: 'discard', takeOver: 'unknown', note: (line) => notes.push(line) });
    expect(notes).toEqual([`run ${runId}: its lock file ${lockOf(root, runId)} cannot be read (EISDIR); taking it over.`]);
    await expect(readdir(path.join(root, 'runs'))).resolves.toEqual([]);
  });

  it('a run that is not there: FILE_NOT_FOUND as readCheckpoint says it', async () => {
    const root = tmp();
    await expect(takeRun('20260101-000000-beef', { root, command: 'x' })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: `No run 20260101-000000-beef in ${path.join(root, 'runs')}: \`nst runs\` lists the runs that can be resumed.` });
  });
});

/** A pid no process has: a child that has exited and been reaped (spawnSync waits for it). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  if (!pid) throw new Error('could not spawn a child to borrow a dead pid from');
  return pid;
}

// --- which weights a checkpoint belongs to ---------------------------------------------------------------------

describe('the weights a checkpoint was made with', () => {
  const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'nst-checkpoint-weights-'));
  const tiny = (seed: number): Vgg19Weights => randomVgg19Weights({ seed, depth: 2, channelScale: 0.125 });

  it('a fingerprint is stable, ignores where the weights came from, and sees any one changed value', () => {
    const a = tiny(1);
    expect(weightsFingerprint(a)).toEqual(weightsFingerprint(a));
    expect(weightsFingerprint(a)).toMatchObject({ source: a.source, layers: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The same numbers loaded again (another object, another source): the same weights.
    const again = { ...tiny(1), source: 'keras-h5:/elsewhere.h5' };
    expect(weightsFingerprint(again).sha256).toBe(weightsFingerprint(a).sha256);
    // The very last kernel value changed (all bytes are hashed, not a sample); a bias; a layer fewer.
    const last = (w: Vgg19Weights) => w.layers.get('block1_conv2')!;
    const kernel = tiny(1);
    last(kernel).kernel[last(kernel).kernel.length - 1]! += 1e-6;
    const bias = tiny(1);
    last(bias).bias[0]! += 1e-6;
    const shallower = randomVgg19Weights({ seed: 1, depth: 1, channelScale: 0.125 });
    const hashes = [a, kernel, bias, shallower, tiny(2)].map((w) => weightsFingerprint(w).sha256);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('the manifest records them; a writer continuing it refuses other weights, naming both and what to do', async () => {
    const root = tmp();
    const runId = newRunId();
    const made = tiny(1);
    const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 10 });
    expect(writer.useWeights(made)).toBeNull();
    await writer.save(fakeState(3, 10));
    await writer.close();
    const { manifest } = await readCheckpoint(runId, root);
    expect(manifest.weights).toEqual(weightsFingerprint(made));

    const resumed = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 10, weightsRemedy: 'Do this.' });
    resumed.continueFrom(manifest);
    const other = tiny(2);
    const refusal = (() => {
      try {
        resumed.useWeights(other);
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(refusal).toMatchObject({ code: 'BAD_CHECKPOINT' });
    const short = (w: Vgg19Weights) => weightsFingerprint(w).sha256.slice(0, 12);
    expect((refusal as Error).message).toBe(
      `Run ${runId} cannot be resumed with these weights: it was made with ${made.source} (2 layers, SHA-256 ${short(made)}…), not ${other.source} (2 layers, SHA-256 ${short(other)}…), and its image and optimizer state belong to that network. Do this.`,
    );
    // Nothing was written over the checkpoint; the same weights (loaded again) go on, and are recorded again.
    expect((await readCheckpoint(runId, root)).manifest.generation).toBe(1);
    expect(resumed.useWeights(tiny(1))).toBeNull();
    await resumed.save(fakeState(4, 11));
    expect((await readCheckpoint(runId, root)).manifest).toMatchObject({ generation: 2, weights: weightsFingerprint(made) });
  });

  it('a manifest from before fingerprints is read as unknown: resumed with a one-line warning, then recorded', async () => {
    const root = tmp();
    const runId = newRunId();
    await (await writeOne(root, runId, [fakeState(3, 10)])).close();
    const { manifest } = await readCheckpoint(runId, root);
    expect(manifest.weights).toBeUndefined();
    const weights = tiny(1);
    const warning = checkCheckpointWeights(manifest, weightsFingerprint(weights));
    expect(warning).toBe(`Run ${runId}'s checkpoint does not say which weights it was made with (an older nst wrote it): it goes on with ${weights.source} (2 layers, SHA-256 ${weightsFingerprint(weights).sha256.slice(0, 12)}…).`);
    expect(warning).not.toMatch(/\n/);
    const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 10 });
    writer.continueFrom(manifest);
    expect(writer.useWeights(weights)).toBe(warning);
    // Said once: the stages after the first ask again, quietly.
    expect(writer.useWeights(weights)).toBeNull();
    await writer.save(fakeState(4, 11));
    expect((await readCheckpoint(runId, root)).manifest.weights).toEqual(weightsFingerprint(weights));
    // A fingerprint that is not one is a corrupt manifest, not an unknown one.
    await editManifest(runDir(runId, root), (m) => ({ ...m, weights: { source: 'x', layers: 2, sha256: 'abc' } }));
    await expect(readCheckpoint(runId, root)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/has no valid weights\.sha256 \(a SHA-256 in hex, got "abc"\)\.$/) });
  });

  it('renderStyleTransfer records them, refuses to resume with others before any work, and passes the warning on', async () => {
    const root = tmp();
    const runId = newRunId();
    const made = tiny(1);
    const pixels = (seed: number): PlanarImage => ({ width: 16, height: 16, data: Float32Array.from({ length: 3 * 256 }, (_, i) => (i * 37 + seed * 11) % 256) });
    const inputs = { weights: made, content: pixels(1), styles: [pixels(2)] };
    const run: RunSettings = { ...settings('adam', 3), styleLayers: ['block1_conv1'], contentLayers: ['block1_conv2'], threads: 1 };
    const render = { scales: 'off' as const, tile: 'off' as const, memoryLimitBytes: 8 * 1024 ** 3 };
    const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 3, onError: (e) => { throw e; } });
    await renderStyleTransfer(inputs, run, { ...render, checkpoint: writer });
    await writer.close();
    const checkpoint = await readCheckpoint(runId, root);
    expect(checkpoint.manifest.weights).toEqual(weightsFingerprint(made));

    const continuing = (): CheckpointWriter<null> => {
      const next = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 3 });
      next.continueFrom(checkpoint.manifest);
      return next;
    };
    const events: string[] = [];
    await expect(
      renderStyleTransfer({ ...inputs, weights: tiny(2) }, run, { ...render, checkpoint: continuing(), resume: checkpoint.state, onPlan: () => events.push('plan'), onEvent: (e) => events.push(e.type) }),
    ).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringContaining('cannot be resumed with these weights') });
    expect(events).toEqual([]);
    // A plain run (a rebuilt segment's) is refused by the same writer.
    await expect(runStyleTransfer({ ...inputs, weights: tiny(2), resume: checkpoint.state.stage.run }, run, { checkpoint: mapCheckpointSink(continuing(), (s: RunSnapshot) => ({ ...checkpoint.state, stage: { ...checkpoint.state.stage, run: s } })) })).rejects.toMatchObject({ code: 'BAD_CHECKPOINT' });

    const older = new CheckpointWriter({ runId, root, everyMs: 0, job: null, totalIterations: () => 3 });
    older.continueFrom({ ...checkpoint.manifest, weights: undefined });
    const notices: string[] = [];
    const resumed = await renderStyleTransfer(inputs, run, { ...render, checkpoint: older, resume: checkpoint.state, onNotice: (m) => notices.push(m) });
    expect(resumed.iterations).toBe(3);
    expect(notices).toEqual([expect.stringMatching(/checkpoint does not say which weights it was made with/)]);
  });
});

type Manifest = { version: number; runId: string; files: { name: string }[]; state: { stage: { run: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;

async function editManifest(dir: string, edit: (m: Manifest) => unknown): Promise<void> {
  const file = path.join(dir, MANIFEST_FILE);
  await writeFile(file, JSON.stringify(edit(JSON.parse(await readFile(file, 'utf8')) as Manifest)));
}

describe.skipIf(!present)('renderStyleTransfer with a checkpoint writer (real weights, 64 px)', () => {
  it('writes checkpoints to disk that a resumed render continues from to the same result', async () => {
    const inputs = await realInputs();
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-checkpoint-render-'));
    const runId = newRunId();
    const seen: number[] = [];
    const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: { kind: 'test' }, totalIterations: () => 10, onSaved: (m) => seen.push(m.progress.iteration), onError: (e) => { throw e; } });
    const render = { scales: 'off' as const, tile: 'off' as const, memoryLimitBytes: 8 * 1024 ** 3 };
    const whole = await renderStyleTransfer(inputs, settings('lbfgs', 6), { ...render, checkpoint: writer });
    await writer.close();
    expect(seen.length).toBeGreaterThan(0);
    const { state, manifest } = await readCheckpoint(runId, root);
    expect(manifest.progress.iteration).toBe(seen.at(-1));
    const resumed = await renderStyleTransfer(inputs, settings('lbfgs', 6), { ...render, resume: state });
    expect(resumed.iterations).toBe(6);
    expect(Math.abs(resumed.finalLoss.total - whole.finalLoss.total) / whole.finalLoss.total).toBeLessThan(1e-6);
    // A checkpoint from a tiled plan cannot continue as a whole-image stage, and says so.
    await expect(renderStyleTransfer(inputs, settings('lbfgs', 6), { ...render, resume: { ...state, phase: 'tile' } })).rejects.toThrow(/in a tile stage, which a whole plan does not have/);
  });

  it('above copyLimitBytes, snapshots are written from the live buffers while the run waits: same run, same checkpoint', async () => {
    const inputs = await realInputs();
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-checkpoint-live-'));
    const runId = newRunId();
    const render = { scales: 'off' as const, tile: 'off' as const, memoryLimitBytes: 8 * 1024 ** 3 };
    const plain = await renderStyleTransfer(inputs, settings('lbfgs', 6), render);
    const written: number[] = [];
    const writer = new CheckpointWriter({ runId, root, everyMs: 0, copyLimitBytes: 0, job: null, totalIterations: () => 6, onSaved: (m) => written.push(m.progress.iteration), onError: (e) => { throw e; } });
    const live = await renderStyleTransfer(inputs, settings('lbfgs', 6), { ...render, checkpoint: writer });
    await writer.close();
    // The loop waited for every write, so every iteration but the last was checkpointed, and the run is unchanged.
    expect(written).toEqual([1, 2, 3, 4, 5]);
    expect(live.finalLoss.total).toBe(plain.finalLoss.total);
    const resumed = await renderStyleTransfer(inputs, settings('lbfgs', 6), { ...render, resume: (await readCheckpoint(runId, root)).state });
    expect(resumed.finalLoss.total).toBe(plain.finalLoss.total);
  });
});
