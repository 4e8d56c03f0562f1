// Whether a process id names a live process: for locks and temporary files that carry their writer's pid.

import { readFile } from 'node:fs/promises';

/**
 * True while `pid` names a process that has not exited. `process.kill(pid, 0)` sends nothing: it answers ESRCH for
 * no such process and EPERM for one that exists but belongs to another user (alive all the same). A killed
 * process its parent has not reaped yet (a container without an init) still answers, so on Linux /proc's state
 * decides. A pid reused by an unrelated process reads as alive: callers keep what such a pid names.
 */
export async function isProcessAlive(pid: number): Promise<boolean> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !(await isZombie(pid));
}

/** Linux: whether /proc says the process has exited (zombie or dead); false where that cannot be told. */
async function isZombie(pid: number): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": the state follows the last ')' (comm may itself hold parentheses).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}
