// Sweeps the data folder of what runs killed before their first checkpoint left: the one place that decides which
// run folder is debris (nothing to resume in it, and no live owner) and takes its frame spool with it.

import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isStaleTemporary, temporaryTarget } from '../sys/atomic-file.js';
import { inspectOwnerLock } from '../sys/owner-lock.js';
import { MANIFEST_FILE } from './checkpoint.js';
import { dataDir } from './data-dir.js';
import { isRunId, runDir, runsDir } from './run-folder.js';
import { LOCK_FILE, takeRun } from './run-lock.js';
import { runFramesDir } from '../video/frames.js';

/**
 * Whether run `runId`'s folder is debris: it holds no manifest (killed before its first checkpoint was whole, or a
 * run whose checkpoint could never be written) and its owner is gone (the lock's process exited, or there is no
 * lock). Never a folder with a manifest (a whole checkpoint, or a damaged one the user should hear about), nor one
 * whose lock names a live process, cannot be read, or names this process (another of its threads may own it: the
 * studio's worker is one).
 */
export async function isAbandonedRun(runId: string, root: string = dataDir()): Promise<boolean> {
  const dir = runDir(runId, root);
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) return false;
  if (await stat(path.join(dir, MANIFEST_FILE)).then(() => true, () => false)) return false;
  const owner = await inspectOwnerLock(path.join(dir, LOCK_FILE));
  return owner.state === 'free' || (owner.state === 'stale' && owner.owner.pid !== process.pid);
}

/**
 * Deletes the abandoned runs under `root` (isAbandonedRun), each taken first as a stale run is (so a process that
 * takes it meanwhile keeps it) and its --video spool (run-frames/RUN_ID) before its folder, and the folders of run
 * creators killed midway (createRun's temporary names, their pid gone). A spool whose run folder is gone is left:
 * the studio keeps a finished run's timelapse for export. Best effort; returns the run ids removed.
 */
export async function sweepAbandonedRuns(root: string = dataDir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(runsDir(root)).catch(() => [] as string[])) {
    const creating = temporaryTarget(name);
    if (creating !== null && isRunId(creating)) {
      if (await isStaleTemporary(name)) await rm(path.join(runsDir(root), name), { recursive: true, force: true }).catch(() => undefined);
      continue;
    }
    if (!isRunId(name) || !(await isAbandonedRun(name, root))) continue;
    try {
      const lock = await takeRun(name, { root, command: 'nst: sweeping a run killed before its first checkpoint' });
      // Owned now: judged again, since a run's manifest may have appeared between the look and the take.
      if (await stat(path.join(lock.dir, MANIFEST_FILE)).then(() => true, () => false)) {
        await lock.release();
        continue;
      }
      await rm(runFramesDir(root, name), { recursive: true, force: true });
      await lock.remove();
      removed.push(name);
    } catch {
      // Taken by another process meanwhile, or removed by another sweep: left to it.
    }
  }
  return removed;
}
