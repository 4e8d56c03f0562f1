// Reading a dropped, chosen or pasted file as an input image: each file either loads or is refused with its name and
// a reason in words (empty, a drawing, too large, not readable).

import { MAX_IMAGE_BYTES } from '../../shared/schemas.js';

/** A file the studio will not take, and why. */
export interface Refusal {
  name: string;
  code: 'image-empty' | 'image-svg' | 'image-too-large' | 'image-unreadable' | 'image-not-used';
  /** A sentence that names the file. */
  message: string;
}

export interface ReadImage {
  name: string;
  bytes: Uint8Array;
  width: number;
  height: number;
}

const UNREADABLE = 'is not an image this studio can read. Use a PNG, JPEG or WebP file.';

/**
 * Reads a file and checks it before it is taken: its size in bytes, SVG, then one decode so a file the window cannot
 * show is refused here rather than after Start.
 */
export async function readImageFile(blob: Blob, name: string): Promise<ReadImage | Refusal> {
  if (blob.size === 0) return { name, code: 'image-empty', message: `“${name}” is empty (0 bytes).` };
  if (blob.size > MAX_IMAGE_BYTES) {
    return { name, code: 'image-too-large', message: `“${name}” is larger than the ${MAX_IMAGE_BYTES / 2 ** 20} MB the studio takes for one image.` };
  }
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (isSvg(bytes, blob.type, name)) {
    return { name, code: 'image-svg', message: `“${name}” is an SVG drawing: the studio paints pixels. Save it as a PNG first.` };
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    return { name, code: 'image-unreadable', message: `“${name}” ${UNREADABLE}` };
  }
  const { width, height } = bitmap;
  bitmap.close();
  return { name, bytes, width, height };
}

/** Whether the bytes are an SVG drawing (by its type or name, or XML text that opens an <svg> element). */
function isSvg(bytes: Uint8Array, type: string, name: string): boolean {
  if (type === 'image/svg+xml' || /\.svgz?$/i.test(name)) return true;
  const head = new TextDecoder().decode(bytes.subarray(0, 1024)).replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<') && /<svg[\s>]/i.test(head);
}

export const isRefusal = <T extends object>(value: T | Refusal): value is Refusal => 'code' in value;

