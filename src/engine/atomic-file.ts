// Writes a file so that it is either the old content or the new one, never half of it: a temp file in the same
// folder (same filesystem, so the rename is atomic), flushed, then renamed over the target.

import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** fsync before the rename, so a power loss cannot leave an empty file under the real name. Default true. */
  readonly sync?: boolean;
}

export async function writeFileAtomic(filePath: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const temporary = path.join(path.dirname(filePath), `.${path.basename(filePath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      if (options.sync ?? true) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, filePath);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
