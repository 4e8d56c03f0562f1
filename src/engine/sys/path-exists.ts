// Whether something (file, folder, or what a link points to) stands at a path: for lookups that try candidates in turn.

import { stat } from 'node:fs/promises';

/** True when `target` can be stat()ed; any failure (absent, a dangling link, no permission) reads as absent. */
export async function pathExists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch {
    return false;
  }
}
