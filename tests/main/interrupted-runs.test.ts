// The studio's interrupted runs (interrupted-runs.ts, RunService) when run folders' locks are damaged or owned: a
// corrupt lock hides neither its run nor the others, a run another live process owns is neither offered, resumed
// nor discarded, and Discard takes over a lock that cannot be read.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointWriter } from '../../src/engine/persist/checkpoint-writer.js';
import { LOCK_FILE } from '../../src/engine/persist/run-lock.js';
import type { RenderState } from '../../src/engine/render/render.js';
import { processCommandLine, processStartTime } from '../../src/engine/sys/process-alive.js';
import { findInterruptedRuns, loadInterruptedRun } from '../../src/main/services/interrupted-runs.js';
import { RunService } from '../../src/main/services/run-service.js';
import { CONTENT_FILE, styleFile, type StudioJob } from '../../src/main/worker/run-checkpoint.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { testSettings, tsJobWorker } from '../helpers/studio.js';

const children: ChildProcess[] = [];
afterAll(() => children.forEach((child) => child.kill('SIGKILL')));

const STATE: RenderState = {
  plan: { mode: 'whole', sizePx: 64, estimateBytes: 1 },
  phase: 'scale',
  stage: { index: 0, iterationsBefore: 0, run: { iteration: 2, image: new Float32Array(3), optimizer: { name: 'adam', iteration: 2, buffers: {}, scalars: {} }, objectiveScale: 1, carried: null, initialLoss: null, weights: null } },
};

/** A studio run's checkpoint, as a killed session leaves it (its writer closed: nobody owns it until a lock says so). */
async function studioRun(root: string, runId: string): Promise<void> {
  const job: StudioJob = { kind: 'studio-run', settings: testSettings(), content: { name: `${runId}.jpg`, file: CONTENT_FILE }, styles: [{ name: 'wave.jpg', blend: 1, file: styleFile(0) }], timelapse: null };
  const writer = new CheckpointWriter({ runId, root, everyMs: 0, job, totalIterations: () => 10 });
  await writer.save(STATE);
  await writer.close();
  const dir = path.join(root, 'runs', runId);
  await writeFile(path.join(dir, CONTENT_FILE), await readFile(path.join(REPO_ROOT, 'resources', 'examples', 'golden-gate.jpg')));
  await writeFile(path.join(dir, styleFile(0)), await readFile(path.join(REPO_ROOT, 'resources', 'examples', 'great-wave.jpg')));
}

/** A lock naming a live process as its own lock would (its real start time): a second studio or an nst, running. */
async function ownedByAnotherProcess(root: string, runId: string): Promise<number> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid!;
  for (let i = 0; i < 100 && !(await processCommandLine(pid))?.startsWith('sleep'); i++) await new Promise((r) => setTimeout(r, 10));
  const record = { pid, start: await processStartTime(pid), host: os.hostname(), token: 'c'.repeat(24), command: `studio run ${runId}`, since: new Date().toISOString() };
  await writeFile(path.join(root, 'runs', runId, LOCK_FILE), JSON.stringify(record));
  return pid;
}

describe.skipIf(process.platform !== 'linux')('interrupted runs with damaged and owned locks', () => {
  it('offers every run but the owned one, a corrupt lock\'s included; resume and discard refuse the owned one', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'nst-interrupted-locks-'));
    const [plain, folderLock, garbageLock, owned] = ['run-1-00000001', 'run-2-00000002', 'run-3-00000003', 'run-4-00000004'];
    for (const runId of [plain, folderLock, garbageLock, owned]) await studioRun(root, runId);
    await mkdir(path.join(root, 'runs', folderLock, LOCK_FILE));
    await writeFile(path.join(root, 'runs', garbageLock, LOCK_FILE), 'garbage, not a record');
    const pid = await ownedByAnotherProcess(root, owned);

    const listed = await findInterruptedRuns(root, () => false);
    expect(listed.map((run) => run.runId).sort()).toEqual([plain, folderLock, garbageLock]);
    expect(listed.find((run) => run.runId === folderLock)).toMatchObject({ contentName: `${folderLock}.jpg`, iteration: 2, totalIterations: 10 });

    // The owned run: refused by name, its folder untouched.
    expect(await loadInterruptedRun(owned, root)).toEqual({
      ok: false,
      error: { code: 'RUN_IN_USE', message: expect.stringMatching(new RegExp(`^Run ${owned} is in use by nst in process ${pid} \\(studio run ${owned}, since .* UTC\\): let it finish, or stop that nst; if it is stuck, delete .*owner\\.pid to take it over\\.$`)) },
    });
    // One whose lock cannot be read is read back (the worker takes it over when it runs).
    expect(await loadInterruptedRun(folderLock, root)).toMatchObject({ ok: true, value: { request: { content: { name: `${folderLock}.jpg` } } } });

    const studio = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: null, help: 'none' }), checkpoints: { root } });
    try {
      expect(await studio.discardInterruptedRun({ runId: owned })).toMatchObject({ ok: false, error: { code: 'RUN_IN_USE' } });
      expect(existsSync(path.join(root, 'runs', owned, 'checkpoint.json'))).toBe(true);
      expect(await studio.discardInterruptedRun({ runId: folderLock })).toEqual({ ok: true, value: null });
      expect(await studio.discardInterruptedRun({ runId: garbageLock })).toEqual({ ok: true, value: null });
      expect(existsSync(path.join(root, 'runs', folderLock))).toBe(false);
      expect(existsSync(path.join(root, 'runs', garbageLock))).toBe(false);
      expect(await studio.listInterruptedRuns()).toEqual({ ok: true, value: [expect.objectContaining({ runId: plain })] });
      // Gone already (another window discarded it): done, not an error.
      expect(await studio.discardInterruptedRun({ runId: 'run-9-00000009' })).toEqual({ ok: true, value: null });
    } finally {
      await studio.dispose();
    }
  });
});
