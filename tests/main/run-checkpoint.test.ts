// Studio runs checkpoint into the data folder: a run whose app died (the service and its worker torn down
// mid-run) is listed by the next session and resumed to the same end as an uninterrupted run; finished and
// stopped runs leave nothing behind; bad checkpoints are refused as data.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunService } from '../../src/main/services/run-service.js';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import type { RunEvent } from '../../src/shared/api.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { EventLog, WEIGHTS_DIR, studioDataPresent, testSettings, tsJobWorker, tubingenStarryRequest } from '../helpers/studio.js';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const present = studioDataPresent();
// Room for the kill to land well before the end on a busy machine: it comes a few iterations in (each checkpoint is
// whole right after the iteration that asked for it), so 40 leaves about ten times that.
const ITERATIONS = 40;

function service(root: string): RunService {
  // everyMs 0: a checkpoint whenever the last one is on disk, so the test needs no long run.
  return new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 2, checkpoints: { root, everyMs: 0 } });
}

function checkpointIteration(root: string, runId: string): number {
  const file = path.join(root, 'runs', runId, MANIFEST_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { progress: { iteration: number } }).progress.iteration : 0;
}

async function until(condition: () => boolean, timeoutMs: number, what: string, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!present)('studio runs resumed after the app died (real uint8 VGG19, 64 px, L-BFGS)', () => {
  it('lists the interrupted run in the next session and resumes it to the uninterrupted run\'s iteration count and loss', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-studio-checkpoints-'));
    const request = await tubingenStarryRequest(testSettings({ iterations: ITERATIONS, optimizer: 'lbfgs' }));

    // The first session runs in a process of its own, killed with SIGKILL mid-run: the app dying.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests', 'helpers', 'studio-run-child.ts'), root, String(ITERATIONS), 'lbfgs'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let childOut = '';
    // Killed as soon as it reports iteration 2: every iteration asks for a checkpoint (everyMs 0), and iteration 1's
    // is whole before iteration 2 is evaluated, however loaded the machine. Its file steps used to wait for an
    // evaluation each (onnxruntime runs on the worker's thread): the first landed near iteration 39.
    child.stdout.on('data', (d: Buffer) => {
      childOut += d.toString();
      const lines = childOut.slice(0, childOut.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
      if (lines.some((line) => ((JSON.parse(line) as { iteration?: number }).iteration ?? 0) >= 2)) child.kill('SIGKILL');
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    expect(await exited).toBe('SIGKILL');
    // Run folders only: a lock's guard or a removal's trash (dot names) may sit beside them.
    const runs = path.join(root, 'runs');
    const [runId = '(no run folder)'] = existsSync(runs) ? readdirSync(runs).filter((name) => !name.startsWith('.')) : [];
    expect(childOut).not.toMatch(/"type":"done"/);
    const at = checkpointIteration(root, runId);
    expect(at).toBeGreaterThanOrEqual(1);
    expect(at).toBeLessThan(ITERATIONS);
    // Beside the manifest, its data file and the images; perhaps debris of the write the kill interrupted.
    expect(readdirSync(path.join(root, 'runs', runId))).toEqual(expect.arrayContaining([MANIFEST_FILE, 'input-content', 'input-style-0', expect.stringMatching(/^run-\d+\.bin$/)]));

    const second = service(root);
    const log = new EventLog(second);
    try {
      const listed = await second.listInterruptedRuns();
      expect(listed).toEqual({
        ok: true,
        value: [{ runId, contentName: 'content_tubingen_64x64.png', styleNames: ['style_starry_night_64x64.png'], settings: expect.objectContaining({ sizePx: 64, iterations: ITERATIONS, optimizer: 'lbfgs' }), sizePx: 64, iteration: at, totalIterations: ITERATIONS, savedAt: expect.any(String) }],
      });
      // Two resumes at once (two windows, a double click): one queues the run, the other is told it runs already.
      const both = await Promise.all([second.resumeInterruptedRun({ runId }), second.resumeInterruptedRun({ runId })]);
      expect(both).toEqual(expect.arrayContaining([{ ok: true, value: { runId } }, expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'ALREADY_RUNNING' }) })]));
      // Listed no more while it runs again.
      expect(await second.listInterruptedRuns()).toEqual({ ok: true, value: [] });
      const done = (await log.end(runId)) as Of<'done'>;
      expect(done.type).toBe('done');
      const progress = log.of(runId).filter((e): e is Of<'progress'> => e.type === 'progress');
      // The count continues after the checkpoint's iteration, to the planned total.
      expect(progress[0]!.loss.iteration).toBe(at + 1);
      expect(progress.at(-1)!.loss.iteration).toBe(ITERATIONS);
      expect(done).toMatchObject({ iterations: ITERATIONS, stopped: false });

      const reference = await second.startRun(request);
      if (!reference.ok) throw new Error(reference.error.message);
      const whole = (await log.end(reference.value.runId)) as Of<'done'>;
      expect(whole.iterations).toBe(ITERATIONS);
      const relative = (done.loss.total - whole.loss.total) / whole.loss.total;
      console.log(`[studio-resume] resumed from iteration ${at}: final loss ${done.loss.total} vs ${whole.loss.total} uninterrupted (${(100 * relative).toFixed(4)}%)`);
      expect(relative).toBeLessThan(0.01);

      // Finished runs leave no checkpoint.
      expect(existsSync(path.join(root, 'runs', runId))).toBe(false);
      expect(existsSync(path.join(root, 'runs', reference.value.runId))).toBe(false);
      expect(await second.listInterruptedRuns()).toEqual({ ok: true, value: [] });
    } finally {
      await second.dispose();
    }
  }, 240_000);

  it('a run killed after a layer change rebuilt its network resumes inside the rebuilt segment, with the new layers', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-studio-checkpoints-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests', 'helpers', 'studio-run-child.ts'), root, String(ITERATIONS), 'adam', '4'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let childOut = '';
    child.stdout.on('data', (d: Buffer) => (childOut += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const runs = path.join(root, 'runs');
    type Manifest = { progress: { iteration: number; totalIterations: number }; job: { segment?: { iterationsBefore: number; iterations: number }; settings: { layers: Record<string, { style: boolean }> } } };
    const manifestOf = (id: string): Manifest | null => {
      const file = path.join(runs, id, MANIFEST_FILE);
      return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Manifest) : null;
    };
    let runId = '';
    await until(() => {
      // Run ids only: a run's folder is made under a temporary (dot) name and renamed into place.
      runId = existsSync(runs) ? (readdirSync(runs).find((name) => !name.startsWith('.')) ?? '') : '';
      const m = runId ? manifestOf(runId) : null;
      return m?.job.segment !== undefined && m.progress.iteration >= m.job.segment.iterationsBefore + 2;
    }, 90_000, 'a checkpoint two iterations into the rebuilt segment', () => childOut.slice(-400));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(childOut).toMatch(/"type":"rebuilt"/);
    const manifest = manifestOf(runId)!;
    const segment = manifest.job.segment!;
    expect(segment.iterationsBefore).toBeGreaterThanOrEqual(4);
    expect(manifest.job.settings.layers.block1_conv2!.style).toBe(true);
    const at = manifest.progress.iteration;
    expect(manifest.progress.totalIterations).toBe(segment.iterationsBefore + segment.iterations);

    const second = service(root);
    const log = new EventLog(second);
    try {
      expect(await second.resumeInterruptedRun({ runId })).toEqual({ ok: true, value: { runId } });
      const done = (await log.end(runId)) as Of<'done'>;
      expect(done).toMatchObject({ type: 'done', stopped: false, iterations: segment.iterationsBefore + segment.iterations });
      const events = log.of(runId);
      expect(events.find((e) => e.type === 'plan')).toMatchObject({ iterations: segment.iterationsBefore + segment.iterations });
      const progress = events.filter((e): e is Of<'progress'> => e.type === 'progress');
      expect(progress[0]!.loss.iteration).toBe(at + 1);
      // The resumed segment's graph has the layer the change turned on.
      expect(Object.keys(progress[0]!.loss.style)).toContain('block1_conv2');
      expect(done.loss.total).toBeLessThan(progress[0]!.loss.total);
      expect(existsSync(path.join(runs, runId))).toBe(false);
    } finally {
      await second.dispose();
    }
  }, 240_000);

  it('a stopped run deletes its checkpoint; unknown and corrupt checkpoints are refused as data', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-studio-checkpoints-'));
    const studio = service(root);
    const log = new EventLog(studio);
    try {
      const started = await studio.startRun(await tubingenStarryRequest(testSettings({ iterations: 200, optimizer: 'adam' })));
      if (!started.ok) throw new Error(started.error.message);
      const { runId } = started.value;
      await until(() => checkpointIteration(root, runId) >= 2, 90_000, 'a checkpoint');
      expect(await studio.resumeInterruptedRun({ runId })).toMatchObject({ ok: false, error: { code: 'ALREADY_RUNNING' } });
      await studio.stopRun({ runId });
      expect(await log.end(runId)).toMatchObject({ type: 'done', stopped: true });
      expect(existsSync(path.join(root, 'runs', runId))).toBe(false);

      expect(await studio.resumeInterruptedRun({ runId: 'run-9-deadbeef' })).toEqual({
        ok: false,
        error: { code: 'FILE_NOT_FOUND', message: `No run run-9-deadbeef in ${path.join(root, 'runs')}: \`nst runs\` lists the runs that can be resumed.` },
      });
      // Past the dispatch's schema, the engine still refuses what is not a run id (it would become a path).
      expect(await studio.resumeInterruptedRun({ runId: '../weights' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });

      // A checkpoint whose manifest was cut short: refused with the reason, and not offered.
      const torn = 'run-7-0badf00d';
      const { mkdir } = await import('node:fs/promises');
      await mkdir(path.join(root, 'runs', torn), { recursive: true });
      await writeFile(path.join(root, 'runs', torn, MANIFEST_FILE), '{"format":"nst-checkpoint","ver');
      expect(await studio.resumeInterruptedRun({ runId: torn })).toEqual({
        ok: false,
        error: { code: 'BAD_CHECKPOINT', message: expect.stringMatching(/^Run run-7-0badf00d cannot be resumed: checkpoint\.json is not valid JSON/) },
      });
      expect(await studio.listInterruptedRuns()).toEqual({ ok: true, value: [] });
      expect(await studio.discardInterruptedRun({ runId: torn })).toEqual({ ok: true, value: null });
      expect(existsSync(path.join(root, 'runs', torn))).toBe(false);
    } finally {
      await studio.dispose();
    }
  }, 240_000);
});
