// Whether something (file, folder, or what a link points to) stands at a path, and a file's text when it may be absent.

import { readFile, stat } from 'node:fs/promises';

/** True when `target` can be stat()ed; any failure (absent, a dangling link, no permission) reads as absent. */
export async function pathExists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch {
    return false;
  }
}

/**
 * The text of `file`, or null when there is no such file (ENOENT). Any other failure (a folder, no permission) is
 * thrown: a file that cannot be read is not one that is absent.
 */
export async function readTextIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
