// The studio's data folders are its user's alone (photos in runs and batches, settings, weights): created 0700, and
// the studio's own folders and settings file in them tightened where an older version left them open to others.

import { chmod, lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { SETTINGS_FILE_NAME } from './settings-store.js';

/** What the studio keeps in a data folder: tightened by name, since the folder itself may be one the user chose. */
const OWN_FOLDERS = ['runs', 'run-frames', 'batch', 'weights', 'downloads'] as const;
const OWN_FILES = [SETTINGS_FILE_NAME, `${SETTINGS_FILE_NAME}.bak`] as const;

/** Creates each root (0700, parents too) and makes what the studio keeps there private. POSIX modes only. */
export async function makeDataPrivate(roots: readonly string[], platform: NodeJS.Platform = process.platform): Promise<void> {
  // Windows: per-user folders are guarded by ACLs, not modes.
  if (platform === 'win32') return;
  for (const root of new Set(roots.map((r) => path.resolve(r)))) {
    await mkdir(root, { recursive: true, mode: 0o700 });
    for (const name of OWN_FOLDERS) await tighten(path.join(root, name), 0o700);
    for (const name of OWN_FILES) await tighten(path.join(root, name), 0o600);
  }
}

/** Takes group and other access away from a file or folder of this user's (links and others' files are left). */
async function tighten(target: string, mode: number): Promise<void> {
  const info = await lstat(target).catch(() => null);
  if (!info || info.isSymbolicLink() || (info.mode & 0o077) === 0 || info.uid !== process.getuid?.()) return;
  await chmod(target, mode).catch((error: unknown) => console.warn(`[studio] could not make ${target} private: ${(error as Error).message}`));
}
