// Reads the image files the user picked in the native Open dialog (File menu) into bytes for the renderer.
// Read-only: the user's files are never written to.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ImageInput, Result } from '../shared/api.js';
import { MAX_IMAGE_BYTES } from '../shared/schemas.js';

/** What the Open dialog offers; the engine decodes these through sharp. */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff', 'avif'] as const;

export async function readPickedImage(filePath: string, maxBytes: number = MAX_IMAGE_BYTES): Promise<Result<ImageInput>> {
  const name = path.basename(filePath);
  try {
    const info = await stat(filePath);
    if (!info.isFile()) return { ok: false, error: { code: 'BAD_IMAGE', message: `${name} is not a file.` } };
    if (info.size === 0) return { ok: false, error: { code: 'BAD_IMAGE', message: `${name} is empty (0 bytes), not an image.` } };
    if (info.size > maxBytes) {
      return { ok: false, error: { code: 'BAD_IMAGE', message: `${name} is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.` } };
    }
    const buffer = await readFile(filePath);
    return { ok: true, value: { name, bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) } };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    return { ok: false, error: { code: 'BAD_IMAGE', message: `${name} could not be read (${reason}).` } };
  }
}
