// nst's folders in the system's temp folder (`nst-<kind>-<pid>-XXXXXX`): named for the process that made them, so a
// later process can tell the debris of one that was killed (`kill -9`, a power cut) from a live one's work.

import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from './process-alive.js';

/** Kinds are short words: they become part of folder names and of the pattern that finds them again. */
const KIND = /^[a-z]+$/;

function checkKind(kind: string): void {
  if (!KIND.test(kind)) throw new RangeError(`A temp folder kind is lower-case letters, got ${JSON.stringify(kind)}.`);
}

/** Makes a new, empty `nst-<kind>-<this pid>-XXXXXX` folder in `root` (default: the system's temp folder). */
export function makeTempFolder(kind: string, root = os.tmpdir()): Promise<string> {
  checkKind(kind);
  return mkdtemp(path.join(root, `nst-${kind}-${process.pid}-`));
}

/**
 * Deletes the `nst-<kind>-<pid>-XXXXXX` folders in `root` whose pid is not a live process: what killed runs left.
 * Only folders (never a link) of exactly that name; a live process's are kept. Best effort; returns the names removed.
 */
export async function removeStaleTempFolders(kind: string, root = os.tmpdir()): Promise<string[]> {
  checkKind(kind);
  const pattern = new RegExp(`^nst-${kind}-(\\d+)-[A-Za-z0-9]{6}$`);
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0 || (await isProcessAlive(pid))) continue;
    const folder = path.join(root, name);
    const info = await lstat(folder).catch(() => null);
    if (!info?.isDirectory()) continue;
    // Another user's folder in a shared /tmp (sticky bit), or one swept by another process first: left as it is.
    if (await rm(folder, { recursive: true }).then(() => true, () => false)) removed.push(name);
  }
  return removed;
}
