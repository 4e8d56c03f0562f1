// Which process writes a run's checkpoints (its pid in the run's folder), so that a second process does not resume
// a run that is still alive.

import path from 'node:path';
import { NstError } from '../errors.js';
import { livePidIn, writePidFile } from '../sys/pid-file.js';
import { dataDir } from './data-dir.js';
import { runDir } from './run-folder.js';

/** The file in a run's folder that names the process writing its checkpoints. */
export const LOCK_FILE = 'owner.pid';

/** Records this process as the writer of the run whose folder is `dir` (made by then). */
export async function claimRun(dir: string): Promise<void> {
  await writePidFile(path.join(dir, LOCK_FILE));
}

/**
 * The pid of another live process that writes this run's checkpoints, or null (none, this one, or a dead one:
 * a crashed run's lock is stale). A pid reused by an unrelated process reads as live: the message names it.
 * Throws BAD_CHECKPOINT when the lock is there but cannot be read (not a file, no permission).
 */
export async function runOwner(runId: string, root: string = dataDir()): Promise<number | null> {
  const lock = path.join(runDir(runId, root), LOCK_FILE);
  let pid: number | null;
  try {
    pid = await livePidIn(lock);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new NstError('BAD_CHECKPOINT', `Cannot tell whether run ${runId} is still running: its lock file ${lock} cannot be read (${why}).`, { cause: error });
  }
  return pid === process.pid ? null : pid;
}

/** Throws BAD_ARGUMENT when another live process is still writing the run (resuming it would make two). */
export async function checkNotRunning(runId: string, root: string = dataDir()): Promise<void> {
  const pid = await runOwner(runId, root);
  if (pid !== null) {
    throw new NstError('BAD_ARGUMENT', `Run ${runId} is still running in process ${pid}: let it finish, or stop it, before resuming it.`);
  }
}
