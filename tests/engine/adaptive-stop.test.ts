// The adaptive stop on real weights: a run ends by itself once its picture is done, saying why; a run still improving
// does not; a resumed run stops where the uninterrupted one did; a front end can hold it at convergence and go on;
// only the last scale of a multi-scale run stops early; checkpoints carry the window.

import { mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunController, runStyleTransfer, type RenderEvent, type RunResult, type RunSettings, type RunSnapshot } from '../../src/engine/render/run.js';
import { runMultiScale } from '../../src/engine/render/multiscale.js';
import { runTiled } from '../../src/engine/render/tiles/run.js';
import { DEFAULT_CONVERGENCE, describeStop, type ConvergenceRule } from '../../src/engine/render/convergence.js';
import { CheckpointWriter } from '../../src/engine/persist/checkpoint-writer.js';
import { MANIFEST_FILE, readCheckpoint } from '../../src/engine/persist/checkpoint.js';
import { newRunId, runDir } from '../../src/engine/persist/run-folder.js';
import type { RenderState } from '../../src/engine/render/render.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { decodeImage, type PlanarImage } from '../../src/engine/io/image.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const present = hasShared('data', 'vgg19-imagenet-uint8') && hasShared('data', 'images', 'content_tubingen_64.png');

interface Inputs {
  weights: Vgg19Weights;
  content: PlanarImage;
  styles: PlanarImage[];
}

let cached: Promise<Inputs> | null = null;
function realInputs(): Promise<Inputs> {
  cached ??= (async () => ({
    weights: await loadWeights(sharedPath('data', 'vgg19-imagenet-uint8')),
    content: await decodeImage(sharedPath('data', 'images', 'content_tubingen_64.png')),
    styles: [await decodeImage(sharedPath('data', 'images', 'style_starry_night_64.png'))],
  }))();
  return cached;
}

const settings = (iterations: number, converge: ConvergenceRule | undefined = DEFAULT_CONVERGENCE): RunSettings => ({
  ...DEFAULT_RUN_SETTINGS,
  iterations,
  device: 'cpu',
  threads: 2,
  converge,
});

/** A rule every window satisfies: the run stops at the first iteration that has a whole window behind it. */
const ALWAYS: ConvergenceRule = { window: 2, lossDecrease: 10, pixelChange: 1e9 };

describe.skipIf(!present)('the adaptive stop on the real uint8 VGG19 (Tübingen × Starry Night, 64 px, L-BFGS)', () => {
  /** The uninterrupted run with the default rule, its events, and its snapshots from the last 30 iterations. */
  let whole: { result: RunResult; events: RenderEvent[]; snapshots: RunSnapshot[] };

  beforeAll(async () => {
    const inputs = await realInputs();
    const events: RenderEvent[] = [];
    const snapshots: RunSnapshot[] = [];
    const result = await runStyleTransfer(inputs, settings(300), {
      onEvent: (e) => events.push(e),
      // A snapshot after every iteration (copied: 64-px states are small); only the last 30 are kept.
      checkpoint: { due: () => true, save: (state) => void (snapshots.push(state), snapshots.length > 30 && snapshots.shift()) },
    });
    whole = { result, events, snapshots };
  }, 300_000);

  it('stops by itself before its cap, saying it converged and with what figures', () => {
    const { result, events } = whole;
    const stop = result.stop;
    console.log(`[adaptive] ${describeStop(stop)} (cap 300)`);
    expect(stop.kind).toBe('converged');
    if (stop.kind !== 'converged') return;
    expect(result.iterations).toBe(stop.iteration);
    expect(result.iterations).toBeLessThan(300);
    expect(result.stopped).toBe(false);
    // The figures are the rule's: under both thresholds, over the rule's window.
    expect(stop.window).toBe(DEFAULT_CONVERGENCE.window);
    expect(stop.lossDecrease).toBeLessThan(DEFAULT_CONVERGENCE.lossDecrease);
    expect(stop.pixelChange).toBeLessThan(DEFAULT_CONVERGENCE.pixelChange);
    expect(stop.pixelChange).toBeGreaterThan(0);
    expect(describeStop(stop)).toMatch(new RegExp(`^converged at iteration ${stop.iteration}: loss fell [\\d.]+% and pixels moved [\\d.]+ levels over the last 20 iterations$`));
    // The last progress event is the stopping iteration's, then the 'converged' event names it.
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ iteration: stop.iteration });
    expect(events.filter((e) => e.type === 'converged')).toEqual([{ type: 'converged', iteration: stop.iteration, stop }]);
  });

  it('a run still improving does not stop: a cap well short of convergence is reached, and said to be the cap', async () => {
    const cap = Math.min(60, whole.result.iterations - 30);
    expect(cap).toBeGreaterThan(DEFAULT_CONVERGENCE.window + 1);
    const events: RenderEvent[] = [];
    const result = await runStyleTransfer(await realInputs(), settings(cap), { onEvent: (e) => events.push(e) });
    expect(result.stop).toEqual({ kind: 'cap', iteration: cap, cap });
    expect(describeStop(result.stop)).toBe(`reached the cap of ${cap} iterations`);
    expect(result.iterations).toBe(cap);
    expect(events.some((e) => e.type === 'converged')).toBe(false);
  }, 300_000);

  it('resumed 8 iterations before the stop, the run stops at the same iteration with the same figures; without its window it would not', async () => {
    const { result, snapshots } = whole;
    const at = snapshots.find((s) => s.iteration === result.iterations - 8)!;
    expect(at.convergence?.losses).toHaveLength(DEFAULT_CONVERGENCE.window + 1);
    expect(at.convergence?.changes).toHaveLength(DEFAULT_CONVERGENCE.window);
    const inputs = await realInputs();
    const resumed = await runStyleTransfer({ ...inputs, resume: at }, settings(300));
    expect(resumed.stop).toEqual(result.stop);
    expect(resumed.iterations).toBe(result.iterations);
    // The control: the same state without its window has to fill a new one first, so it cannot stop as soon.
    const forgetful = await runStyleTransfer({ ...inputs, resume: { ...at, convergence: null } }, settings(300));
    expect(forgetful.iterations).toBeGreaterThanOrEqual(at.iteration + DEFAULT_CONVERGENCE.window + 1);
  }, 300_000);

  it('a front end that holds the run at its convergence: resumed, it runs on to its cap; stopped, it ends converged; a plain pause does not hold it', async () => {
    const { result, snapshots } = whole;
    const stopAt = result.iterations;
    const from = snapshots.find((s) => s.iteration === stopAt - 3)!;
    const inputs = await realInputs();

    // Keep going: the same run goes on past its convergence, to the cap (5 more here), with no second stop.
    const controller = new RunController();
    const events: RenderEvent[] = [];
    const kept = await runStyleTransfer({ ...inputs, resume: from }, settings(stopAt + 5), {
      controller,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'converged') controller.holdAtConvergence();
        if (e.type === 'paused') setTimeout(() => controller.resume(), 10);
      },
    });
    expect(events.filter((e) => e.type !== 'started').map((e) => `${e.type} ${'iteration' in e ? e.iteration : ''}`)).toEqual([
      ...[1, 2, 3].map((k) => `progress ${stopAt - 3 + k}`),
      `converged ${stopAt}`,
      `paused ${stopAt}`,
      `resumed ${stopAt}`,
      ...[1, 2, 3, 4, 5].map((k) => `progress ${stopAt + k}`),
    ]);
    expect(kept.stop).toEqual({ kind: 'cap', iteration: stopAt + 5, cap: stopAt + 5 });

    // Finished while held: it ends where it converged, as converged (not stopped), and leaves no final snapshot.
    const holder = new RunController();
    const finals: RunSnapshot[] = [];
    const ended = await runStyleTransfer({ ...inputs, resume: from }, settings(stopAt + 5), {
      controller: holder,
      checkpoint: { due: () => false, save: (state, o) => void (o?.final && finals.push(state)) },
      onEvent: (e) => {
        if (e.type === 'converged') holder.holdAtConvergence();
        if (e.type === 'paused') holder.stop();
      },
    });
    expect(ended.stop).toEqual(result.stop);
    expect(ended).toMatchObject({ stopped: false, iterations: stopAt });
    expect(finals).toEqual([]);

    // A pause the user (or a batch) happened to ask for as it converged is not "keep going": the run ends converged.
    const paused = new RunController();
    const plain = await runStyleTransfer({ ...inputs, resume: from }, settings(stopAt + 5), {
      controller: paused,
      onEvent: (e) => void (e.type === 'progress' && e.iteration === stopAt && paused.pause()),
    });
    expect(plain.stop).toEqual(result.stop);
    expect(plain.iterations).toBe(stopAt);
  }, 300_000);

  it('only the last scale of a multi-scale run stops early: the coarse scale runs its quarter', async () => {
    const events: { event: RenderEvent; index: number }[] = [];
    // 20 iterations: 5 at 32 px, then at 64 px a rule every window meets stops at the first full window (3).
    const result = await runMultiScale(await realInputs(), settings(20, ALWAYS), { scales: 2, onEvent: (event, scale) => events.push({ event, index: scale.index }) });
    const last = (index: number): number => Math.max(...events.flatMap((e) => (e.index === index && e.event.type === 'progress' ? [e.event.stageIteration] : [])));
    expect(last(0)).toBe(5);
    expect(last(1)).toBe(3);
    expect(result.iterations).toBe(8);
    expect(result.stop).toMatchObject({ kind: 'converged', iteration: 8, window: 2 });
  }, 300_000);

  it('in a tiled render the whole-image pass and every tile stop on their own', async () => {
    const result = await runTiled(await realInputs(), settings(10, ALWAYS), { tilePx: 40, overlapPx: 8, coherencePx: 32, scales: 'off' });
    expect(result.tiles.length).toBe(4);
    // The pass and each of the 4 tiles: 3 iterations each (a window of 2 and one more), not 10.
    expect(result.iterations).toBe(5 * 3);
    expect(result.stop).toMatchObject({ kind: 'converged', iteration: 15 });
  }, 300_000);
});

describe('a checkpoint carries the window', () => {
  const state = (convergence: RunSnapshot['convergence']): RenderState => ({
    plan: { mode: 'whole', sizePx: 2, estimateBytes: 1000 },
    phase: 'scale',
    stage: {
      index: 0,
      iterationsBefore: 0,
      run: {
        iteration: 7,
        image: new Float32Array(12).fill(3),
        optimizer: { name: 'adam', iteration: 7, buffers: { m: new Float32Array(12), v: new Float32Array(12) }, scalars: { updates: 7 } },
        objectiveScale: 2,
        carried: null,
        initialLoss: null,
        weights: null,
        convergence,
      },
    },
  });

  async function roundTrip(s: RenderState): Promise<{ root: string; runId: string; read: RenderState }> {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-adaptive-'));
    const runId = newRunId();
    const writer = new CheckpointWriter({ runId, root, everyMs: 0, job: {}, totalIterations: () => 10 });
    writer.save(s);
    await writer.flush();
    return { root, runId, read: (await readCheckpoint(runId, root)).state };
  }

  it('round-trips its losses, changes and whether the run went on past convergence', async () => {
    const convergence = { losses: [3, 2.5, 2.25], changes: [0.5, 0.25], passed: true };
    expect((await roundTrip(state(convergence))).read.stage.run.convergence).toEqual(convergence);
  });

  it('a manifest from before the adaptive stop (no window) is read, with an empty window; a malformed one is refused by name', async () => {
    const { root, runId, read } = await roundTrip(state(undefined));
    expect(read.stage.run.convergence).toBeNull();
    const file = path.join(runDir(runId, root), MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(file, 'utf8'));
    manifest.state.stage.run.convergence = { losses: [1, 'x'], changes: [], passed: false };
    await writeFile(file, JSON.stringify(manifest));
    await expect(readCheckpoint(runId, root)).rejects.toThrow(/state\.stage\.run\.convergence\.losses\[1\]/);
  });
});
