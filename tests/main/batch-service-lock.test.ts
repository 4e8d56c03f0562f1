// Specification of the batch folder's lock in BatchService (issue 13, class 3): one batch at a time in a folder, the
// lock nst batch takes. A second studio (another BatchService on the same data folder) or an nst batch is refused
// by name while a batch is unfinished; the folder is free once the batch ends or is cleared; a dead holder's lock
// is stale and taken over. The run queue is a stand-in whose runs end when the test says (no worker, no weights).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BATCH_LOCK_FILE, takeBatchFolder } from '../../src/engine/index.js';
import { BatchService, type BatchRuns } from '../../src/main/services/batch-service.js';
import type { RunEvent, StartBatchRequest } from '../../src/shared/api.js';
import { ok } from '../../src/shared/result.js';
import { DEFAULT_STUDIO_SETTINGS } from '../../src/shared/studio-settings.js';

/** Runs that start at once and end only when `fail(runId)` is called (the item then fails: no image is needed). */
function standInRuns(): BatchRuns & { live: string[]; fail(runId: string): void } {
  const listeners = new Set<(event: RunEvent) => void>();
  let sequence = 0;
  const live: string[] = [];
  return {
    live,
    startRun: async () => {
      const runId = `run-${++sequence}`;
      live.push(runId);
      return ok({ runId });
    },
    pauseRun: async () => ok(null),
    resumeRun: async () => ok(null),
    stopRun: async () => ok(null),
    runImage: async () => ({ ok: false, error: { code: 'NO_IMAGE_YET', message: 'none' } }),
    onRunEvent: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fail(runId) {
      live.splice(live.indexOf(runId), 1);
      for (const listener of listeners) listener({ runId, type: 'error', error: { code: 'NOT_AN_IMAGE', message: 'a stand-in failure' } });
    },
  } as BatchRuns & { live: string[]; fail(runId: string): void };
}

const request = (names: string[]): StartBatchRequest => ({
  contents: names.map((name) => ({ name, bytes: new TextEncoder().encode(name) })),
  styles: [{ image: { name: 'style.png', bytes: new Uint8Array([1, 2, 3]) }, blend: 1 }],
  settings: structuredClone(DEFAULT_STUDIO_SETTINGS),
});

/** A pid no process has: a child that has exited and been reaped (spawnSync waits for it). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  if (!pid) throw new Error('could not spawn a child to borrow a dead pid from');
  return pid;
}

let root = '';
const opened: BatchService[] = [];
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'nst-batch-lock-'));
});
afterEach(async () => {
  for (const service of opened.splice(0)) await service.dispose();
  await rm(root, { recursive: true, force: true });
});

async function open(runs: BatchRuns): Promise<BatchService> {
  const service = await BatchService.open({ runs, root });
  opened.push(service);
  return service;
}

const folder = (): string => path.join(root, 'current');
const lockFile = (): string => path.join(folder(), BATCH_LOCK_FILE);
const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
};

describe('BatchService: the batch folder is locked while a batch is unfinished', () => {
  it('refuses a second studio\'s batch and clear while the first runs, naming its holder; after it ends a new one runs', async () => {
    const firstRuns = standInRuns();
    const first = await open(firstRuns);
    expect(await first.startBatch(request(['a.png', 'b.png']))).toMatchObject({ ok: true, value: { state: 'running' } });
    expect(await readdir(folder())).toContain(BATCH_LOCK_FILE);

    const secondRuns = standInRuns();
    const second = await open(secondRuns);
    const refusal = { ok: false, error: { code: 'RUN_IN_USE', message: expect.stringContaining(`The batch folder ${folder()} is in use by nst in process ${process.pid} (studio batch, since `) } };
    expect(await second.startBatch(request(['c.png']))).toMatchObject(refusal);
    // Its clear would delete the first's batch: refused too, and nothing of the first is gone.
    expect(await second.clearBatch()).toMatchObject(refusal);
    expect(secondRuns.live).toEqual([]);
    expect(first.status().items.map((i) => i.name)).toEqual(['a.png', 'b.png']);
    expect(await readdir(path.join(folder(), 'inputs'))).toHaveLength(2);

    // The first ends (both items fail in the stand-in): the folder is free, and the second studio's batch runs.
    firstRuns.fail(firstRuns.live[0]!);
    await until(() => firstRuns.live.length === 1);
    firstRuns.fail(firstRuns.live[0]!);
    await until(() => first.status().state === 'finished' && !existsSync(lockFile()));
    expect(await second.startBatch(request(['c.png']))).toMatchObject({ ok: true, value: { state: 'running', total: 1 } });
    expect(secondRuns.live).toHaveLength(1);
    // Now the first is the one refused.
    expect(await first.startBatch(request(['d.png']))).toMatchObject({ ok: false, error: { code: 'RUN_IN_USE' } });
  });

  it('is the lock nst batch takes: a batch into a folder nst batch holds is refused by name, and nst batch is refused while the studio\'s runs', async () => {
    await mkdir(folder(), { recursive: true });
    const cli = await takeBatchFolder(folder(), { command: 'nst batch' });
    const runs = standInRuns();
    const studio = await open(runs);
    expect(await studio.startBatch(request(['a.png']))).toMatchObject({ ok: false, error: { code: 'RUN_IN_USE', message: expect.stringContaining('(nst batch, since ') } });
    await cli.release();

    expect(await studio.startBatch(request(['a.png']))).toMatchObject({ ok: true });
    await expect(takeBatchFolder(folder(), { command: 'nst batch' })).rejects.toMatchObject({ code: 'RUN_IN_USE', message: expect.stringContaining('(studio batch, since ') });
    // Cleared (the batch stops): the folder is given back.
    expect(await studio.clearBatch()).toMatchObject({ ok: true, value: { state: 'empty' } });
    expect(await readdir(folder())).toEqual([]);
    await (await takeBatchFolder(folder(), { command: 'nst batch' })).release();
  });

  it('takes over a stale lock from a dead pid, at start and when a restart carries on an unfinished batch', async () => {
    await mkdir(folder(), { recursive: true });
    const staleLock = (): Promise<void> =>
      writeFile(lockFile(), JSON.stringify({ pid: deadPid(), start: null, host: os.hostname(), token: 'd'.repeat(24), command: 'studio batch', since: '2026-12-07T10:00:00.000Z' }));
    await staleLock();
    const runs = standInRuns();
    const studio = await open(runs);
    expect(await studio.startBatch(request(['a.png', 'b.png']))).toMatchObject({ ok: true, value: { state: 'running' } });
    expect(runs.live).toHaveLength(1);

    // A crash mid-batch leaves its lock naming a process that is gone: the next studio carries the batch on.
    await studio.dispose();
    opened.splice(opened.indexOf(studio), 1);
    await staleLock();
    const restartedRuns = standInRuns();
    const restarted = await open(restartedRuns);
    await until(() => restartedRuns.live.length === 1);
    expect(restarted.status()).toMatchObject({ state: 'running', total: 2 });
    // ...and holds the folder while it does.
    const other = await open(standInRuns());
    expect(await other.startBatch(request(['c.png']))).toMatchObject({ ok: false, error: { code: 'RUN_IN_USE' } });
  });

  it('leaves an unfinished batch a live studio holds to it: a second studio opening the folder does not run its items', async () => {
    const runs = standInRuns();
    const first = await open(runs);
    await first.startBatch(request(['a.png', 'b.png']));
    const otherRuns = standInRuns();
    const other = await open(otherRuns);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(otherRuns.live).toEqual([]);
    expect(other.status().state).toBe('empty');
    expect(runs.live).toHaveLength(1);
  });
});
