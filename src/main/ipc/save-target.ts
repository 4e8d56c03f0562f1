// The file an export writes: the path the user chose in the save dialog, with the format's extension added when
// they typed none — but never over an existing file the dialog did not ask about.

import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorInfo } from '../../shared/ipc.js';

/**
 * Null when `target` may be written: it is what the user chose (the dialog already confirmed any overwrite), or
 * nothing exists there yet. Otherwise why not: the added extension names an existing file the user never saw.
 */
export async function refuseUnconfirmedOverwrite(chosen: string, target: string): Promise<ErrorInfo | null> {
  if (target === chosen) return null;
  const existing = await lstat(target).catch(() => null);
  if (!existing) return null;
  return {
    code: 'EXPORT_FAILED',
    message: `${path.basename(target)} already exists and the save dialog did not ask to replace it; choose it by its full name to replace it, or pick another name.`,
  };
}
