// Files that name the process holding something (a run's checkpoints, a download): written with this process's
// pid, read back as a live process or none.

import { rm, writeFile } from 'node:fs/promises';
import { readTextIfPresent } from './path-exists.js';
import { isProcessAlive } from './process-alive.js';

/** Writes this process's pid into `file`, replacing what it held. */
export async function writePidFile(file: string): Promise<void> {
  await writeFile(file, `${process.pid}\n`);
}

/**
 * The pid `file` names while that process lives (this process's included); null when there is no such file, it
 * names no pid (torn, foreign), or its process has exited. Any other read error (not a file, no permission) is
 * thrown: "cannot tell" is not "nobody".
 */
export async function livePidIn(file: string): Promise<number | null> {
  const text = await readTextIfPresent(file);
  if (text === null) return null;
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return (await isProcessAlive(pid)) ? pid : null;
}

/**
 * Takes `file` as this process's exclusive lock: created holding its pid, unless a live process holds it already
 * (then `held(pid)` is thrown); a lock left by a process that is gone is taken over. Resolves to the release.
 */
export async function acquirePidLock(file: string, held: (pid: number) => Error): Promise<() => Promise<void>> {
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const pid = await livePidIn(file);
      if (pid !== null) throw held(pid);
      await rm(file, { force: true });
    }
  }
}
