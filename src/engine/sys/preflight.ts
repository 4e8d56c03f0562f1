// Checks, before any work, that the places a job will write to can take it: each path given is the kind it must be,
// each folder takes a new file (tried, not guessed), and the disks have room for what the job will write.

import { open, stat, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../errors.js';
import { dataDir } from '../persist/data-dir.js';
import { removeStaleTemporaries, temporaryPath } from './atomic-file.js';
import { fileSystemError } from './fs-errors.js';

/** The name checkWritableFolder's probe files are made for (`.nst-write-check.<pid>.<hex>.tmp`). */
const PROBE = 'nst-write-check';

/** What a job will write into one folder, for checkFreeSpace. */
export interface PlannedWrite {
  /** The folder (it may not exist yet: its nearest existing parent's disk is the one counted). */
  readonly folder: string;
  /** The least the job will write there, in bytes. */
  readonly bytes: number;
  /** What it is, for the refusal: "the image", "checkpoints", "120 frames". */
  readonly what: string;
  /** How to write less there, if there is a way ("--checkpoint-every 0 writes none"). */
  readonly remedy?: string;
}

/**
 * Throws unless a new file can be made in `folder` (which exists): one is created and removed, since neither the
 * permission bits (root ignores them) nor access(W_OK) (true on a read-only mount) say so. The refusal is
 * sys/fs-errors.ts's sentence for the folder (READ_ONLY, PERMISSION_DENIED, DISK_FULL…), after `label`.
 */
export async function checkWritableFolder(label: string, folder: string): Promise<void> {
  // A name removeStaleTemporaries sweeps, should this process die between the two calls: the next check does.
  const probe = temporaryPath(path.join(folder, PROBE));
  try {
    await (await open(probe, 'wx')).close();
  } catch (error) {
    const refused = fileSystemError(error, { subject: folder, action: 'write' });
    if (!refused) throw error;
    throw new NstError(refused.code, `${label}: ${refused.message.replace(/^Cannot write /, 'cannot write into ')}`, { cause: error });
  }
  await unlink(probe).catch(() => undefined);
  await removeStaleTemporaries(folder, (target) => target === PROBE);
}

/**
 * Throws unless `folder` is a folder nst can write into, or can make: where it exists it must be a folder
 * (BAD_ARGUMENT naming `label` when it is a file), where it does not its nearest existing parent must be a folder
 * (else BAD_ARGUMENT: that file is in the way); either way the folder that exists must take a new file
 * (checkWritableFolder). Makes nothing, so a refusal later leaves no empty folder behind.
 */
export async function checkOutputFolder(label: string, folder: string): Promise<void> {
  const absolute = path.resolve(folder);
  const existing = await nearestExisting(absolute);
  const info = await stat(existing);
  if (!info.isDirectory()) {
    const why = existing === absolute ? `${absolute} is a file, not a folder` : `${existing} is a file, so the folder ${absolute} cannot be made inside it`;
    throw new NstError('BAD_ARGUMENT', `${label}: ${why}; name a folder (or one to be made).`);
  }
  await checkWritableFolder(label, existing);
}

/**
 * Throws unless the data folder (NST_DATA_DIR, else the per-user one) is a folder or can be made one; with `write`
 * (checkpoints, weights installs) it must also take new files. `remedy` is added to a refusal of the write.
 */
export async function checkDataFolder(options: { readonly write: boolean; readonly remedy?: string; readonly root?: string; readonly env?: NodeJS.ProcessEnv }): Promise<void> {
  const env = options.env ?? process.env;
  const root = options.root ?? dataDir({ env });
  const label = options.root === undefined && env.NST_DATA_DIR ? 'NST_DATA_DIR' : 'the data folder';
  const existing = await nearestExisting(root);
  if (!(await stat(existing)).isDirectory()) {
    const why = existing === root ? `${root} is a file, not a folder` : `${existing} is a file, so the folder ${root} cannot be made inside it`;
    const fix = label === 'NST_DATA_DIR' ? 'point NST_DATA_DIR at a folder (or one to be made), or unset it' : 'move that file away, or set NST_DATA_DIR to a folder';
    // A folder the user named is an argument given wrong; the per-user default in the way is the file system's.
    throw new NstError(label === 'NST_DATA_DIR' ? 'BAD_ARGUMENT' : 'NOT_A_FOLDER', `${label}: ${why}; ${fix}.`);
  }
  if (!options.write) return;
  try {
    await checkWritableFolder(label, existing);
  } catch (error) {
    if (!(error instanceof NstError) || !options.remedy) throw error;
    throw new NstError(error.code, `${error.message.replace(/\.$/, '')}; ${options.remedy}.`, { cause: error });
  }
}

/**
 * Throws DISK_FULL, before the job starts, when the planned writes clearly do not fit: on each disk, the sum of
 * what is planned for its folders against the space free for this user there. Each write's `bytes` should be the
 * least it can be, so a job that might fit is never refused (a write that fails later is still reported).
 */
export async function checkFreeSpace(writes: readonly PlannedWrite[]): Promise<void> {
  const disks = new Map<number, { folder: string; free: number; writes: PlannedWrite[] }>();
  for (const write of writes) {
    if (!(write.bytes > 0)) continue;
    const folder = await nearestExisting(path.resolve(write.folder));
    const { dev } = await stat(folder);
    let disk = disks.get(dev);
    if (!disk) {
      const fs = await statfs(folder).catch(() => null);
      // A file system that cannot say how much is free is not refused for it.
      if (!fs) continue;
      disk = { folder, free: fs.bavail * fs.bsize, writes: [] };
      disks.set(dev, disk);
    }
    disk.writes.push(write);
  }
  for (const disk of disks.values()) {
    const need = disk.writes.reduce((sum, w) => sum + w.bytes, 0);
    if (need <= disk.free) continue;
    const parts = disk.writes.map((w) => `${w.what} ${formatSize(w.bytes)} in ${w.folder}`).join(', ');
    const remedies = disk.writes.flatMap((w) => (w.remedy ? [w.remedy] : []));
    throw new NstError(
      'DISK_FULL',
      `Not enough free space on the disk holding ${disk.folder}: ${formatSize(disk.free)} free, and this run writes at least ${formatSize(need)} there (${parts}). Free some space or choose a folder on another disk${remedies.length > 0 ? `; ${remedies.join('; ')}` : ''}.`,
    );
  }
}

/** `p` itself if it exists, else its nearest parent that does (the root, at worst). */
async function nearestExisting(p: string): Promise<string> {
  for (let current = p; ; current = path.dirname(current)) {
    if (await stat(current).then(() => true, () => false)) return current;
    if (current === path.dirname(current)) return current;
  }
}

/** Sizes in the sentences: bytes, kB below a megabyte (a small disk's figures), MB below a gigabyte, then GB. */
function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 2 ** 20) return `${Math.round(bytes / 1024)} kB`;
  if (bytes < 2 ** 30) return `${(bytes / 2 ** 20).toFixed(1)} MB`;
  return `${(bytes / 2 ** 30).toFixed(2)} GB`;
}
