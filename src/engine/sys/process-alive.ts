// Whether a process id names a live process, and which process it is (its start time and command line): for
// locks and temporary files that carry their writer's pid, where a pid reused by another program must not pass.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * True while `pid` names a process that has not exited. `process.kill(pid, 0)` sends nothing: it answers ESRCH for
 * no such process and EPERM for one that exists but belongs to another user (alive all the same). A killed
 * process its parent has not reaped yet (a container without an init) still answers, so on Linux /proc's state
 * decides. A pid reused by an unrelated process reads as alive: processStartTime tells the two apart.
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
  const fields = await procStatFields(pid);
  return fields !== null && (fields[0] === 'Z' || fields[0] === 'X');
}

/** Linux: /proc/PID/stat's fields from the third (the state) on, or null. */
async function procStatFields(pid: number): Promise<string[] | null> {
  if (process.platform !== 'linux') return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": the fields follow the last ')' (comm may itself hold parentheses or spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
  } catch {
    return null;
  }
}

/**
 * When `pid` started, as text that is equal for one process and differs for a later process given the same pid, or
 * null where it cannot be told (no such process; Windows, where nst does not look). Linux: the boot's id and
 * /proc/PID/stat's field 22 (clock ticks since boot), so a pid reused after a restart differs too. macOS and the
 * BSDs: `ps -o lstart=` (to the second: a pid reused within the same second passes, which pids' slow cycling
 * makes unlikely).
 */
export async function processStartTime(pid: number): Promise<string | null> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  if (process.platform === 'linux') {
    const ticks = (await procStatFields(pid))?.[19];
    if (ticks === undefined || !/^\d+$/.test(ticks)) return null;
    return `linux:${(await bootId()) ?? '?'}:${ticks}`;
  }
  if (process.platform === 'win32') return null;
  const lstart = await ps(pid, 'lstart');
  return lstart ? `ps:${lstart}` : null;
}

/** The start time's boot part: a start time recorded in another boot names a process that is gone. */
export function startTimeBoot(startTime: string): string | null {
  const match = /^linux:([^:]+):/.exec(startTime);
  return match && match[1] !== '?' ? match[1]! : null;
}

let boot: Promise<string | null> | undefined;

/** Linux's id of this boot (it changes at every start of the machine), or null. */
export function bootId(): Promise<string | null> {
  boot ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (text) => text.trim() || null,
    () => null,
  );
  return boot;
}

/**
 * The command line `pid` runs (its arguments joined by spaces), or null where it cannot be read (no such process,
 * another user's on a locked-down /proc, Windows).
 */
export async function processCommandLine(pid: number): Promise<string | null> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  if (process.platform === 'linux') {
    try {
      const text = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0+$/, '').replaceAll('\0', ' ');
      return text || null;
    } catch {
      return null;
    }
  }
  if (process.platform === 'win32') return null;
  return ps(pid, 'args');
}

/** One `ps -o FIELD= -p PID` column, or null (no such process, no ps). */
function ps(pid: number, field: 'lstart' | 'args'): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('ps', ['-o', `${field}=`, '-p', String(pid)], { timeout: 5000 }, (error, stdout) => resolve(error ? null : stdout.trim() || null));
  });
}
