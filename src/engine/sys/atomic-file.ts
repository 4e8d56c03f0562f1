// Writes a file so that it is either the old content or the new one, never half of it: a temp file in the same
// folder (same filesystem, so the rename is atomic), flushed, then renamed over the target, and the folder flushed.

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from './process-alive.js';

export interface AtomicWriteOptions {
  /**
   * fsync the file before the rename (so a power loss cannot leave an empty file under the real name) and its
   * folder after it (so the rename itself survives one). Default true.
   */
  readonly sync?: boolean;
}

/** `.<name>.<pid>.<8 hex>.tmp`: the writer's pid in the name tells a crashed writer's debris from a live one's. */
const TEMPORARY_PATTERN = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** A fresh temporary path beside `filePath`, named for this process (see removeStaleTemporaries). */
export function temporaryPath(filePath: string): string {
  return path.join(path.dirname(filePath), `.${path.basename(filePath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** What a file is written from: its bytes, text, or chunks written one after another (no joined copy is made). */
export type FileData = Uint8Array | string | Iterable<Uint8Array>;

export async function writeFileAtomic(filePath: string, data: FileData, options: AtomicWriteOptions = {}): Promise<void> {
  const sync = options.sync ?? true;
  const temporary = await writeTemporary(filePath, data, options);
  try {
    await rename(temporary, filePath);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  if (sync) await fsyncDirectory(path.dirname(filePath));
}

/**
 * Writes `data` to a new temporary file beside `filePath` (temporaryPath's name), flushed to disk unless `sync` is
 * false, and returns its path: for a caller that renames several files into place in an order of its own (then
 * fsyncDirectory). A failed write leaves no temporary file behind.
 */
export async function writeTemporary(filePath: string, data: FileData, options: AtomicWriteOptions = {}): Promise<string> {
  const temporary = temporaryPath(filePath);
  try {
    const handle = await open(temporary, 'wx');
    try {
      // Chunk after chunk: each writeFile continues where the last one ended.
      for (const chunk of typeof data === 'string' || data instanceof Uint8Array ? [data] : data) await handle.writeFile(chunk);
      if (options.sync ?? true) await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw naming(error, filePath);
  }
  return temporary;
}

/**
 * writeFileAtomic, synchronously, for a thread whose event loop turns rarely (a run's: onnxruntime evaluates on it,
 * so each awaited fs call would wait for an evaluation). `sync` here defaults to false: a timelapse's frames and
 * index are rewritten often and may be lost in a power cut; a checkpoint asks for it. A reader never sees half a file.
 */
export function writeFileAtomicSync(filePath: string, data: FileData, options: AtomicWriteOptions = {}): void {
  const sync = options.sync ?? false;
  const temporary = temporaryPath(filePath);
  try {
    const fd = openSync(temporary, 'wx');
    try {
      // Chunk after chunk, each at the position the last one ended (no joined copy is made).
      for (const chunk of typeof data === 'string' || data instanceof Uint8Array ? [data] : data) writeFileSync(fd, chunk);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, filePath);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Never created, or already renamed: nothing to clean up.
    }
    throw naming(error, filePath);
  }
  if (sync) fsyncDirectorySync(path.dirname(filePath));
}

/**
 * A failed write (ENOSPC from a handle's write says no path) named for the file it was making, so whoever turns it
 * into a sentence (sys/fs-errors.ts) can say which; the errno code is kept.
 */
function naming(error: unknown, filePath: string): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (error instanceof Error && typeof errno.code === 'string' && errno.path === undefined) errno.path = filePath;
  return error;
}

/** Errors of a directory fsync that mean "this platform or filesystem does not do that", not a failed flush. */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP', 'EACCES']);

/**
 * Flushes a folder's entries (a rename into it, a new file) to disk, so a power cut cannot undo them. Not on
 * Windows (a folder cannot be opened for that there; NTFS journals the rename); where a filesystem refuses
 * (EISDIR, EPERM, EINVAL, ENOTSUP; EACCES for a folder that may be written but not read) it does nothing.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!DIRECTORY_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

/** fsyncDirectory, synchronously (writeFileAtomicSync's). */
function fsyncDirectorySync(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    if (!DIRECTORY_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The pid a temporary file's name carries, or null when the name is not one of temporaryPath's. */
export function temporaryOwner(name: string): number | null {
  const match = TEMPORARY_PATTERN.exec(name);
  const pid = match ? Number(match[2]) : NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** The name of the file a temporary file (temporaryPath's) was written to replace, or null for any other name. */
export function temporaryTarget(name: string): string | null {
  return TEMPORARY_PATTERN.exec(name)?.[1] ?? null;
}

/** Whether `name` is a temporary file (temporaryPath's) whose writer has exited: debris of a kill mid-write. */
export async function isStaleTemporary(name: string): Promise<boolean> {
  const pid = temporaryOwner(name);
  return pid !== null && !(await isProcessAlive(pid));
}

/**
 * Deletes the temporary files in `dir` left by writers that were killed mid-write (`kill -9`, a power cut):
 * those whose pid is not a live process. A live process's (this one's included) are kept: it may be writing them
 * now. `of`: only those written to replace a file it accepts (by name), in a folder that is not nst's own (a
 * user's output folder). Best effort (the write that follows reports a folder it cannot use); returns the names removed.
 */
export async function removeStaleTemporaries(dir: string, of?: (target: string) => boolean): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const target = temporaryTarget(name);
    if (target === null || (of && !of(target)) || !(await isStaleTemporary(name))) continue;
    // Gone already (another process swept it first), or not a file after all: left as it is.
    if (await unlink(path.join(dir, name)).then(() => true, () => false)) removed.push(name);
  }
  return removed;
}
