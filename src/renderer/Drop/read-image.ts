// Reading a dropped, chosen or pasted file as an input image: each file either loads or is refused with its name and
// a reason in words (empty, a drawing, too large, not readable), and a too-large photo can be scaled down here.

import { MAX_IMAGE_BYTES, MAX_INPUT_PIXELS, SIZE_PX_RANGE } from '../../shared/schemas.js';
import { readImageHeader } from './image-header.js';

/** A file the studio will not take, and why. */
export interface Refusal {
  name: string;
  code: 'image-empty' | 'image-svg' | 'image-too-large' | 'image-unreadable' | 'image-not-used';
  /** A sentence that names the file. */
  message: string;
  /** Set when scaling it down (scaleDownImage) would make it usable: the longest side it would get. */
  scaleToPx?: number;
}

export interface ReadImage {
  name: string;
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** The longest side a scaled-down photo gets: the largest size a run paints at, so no run loses detail by it. */
export const SCALE_DOWN_SIDE_PX = SIZE_PX_RANGE.max;

const megapixels = (pixels: number): string => `${Math.round(pixels / 1e6).toLocaleString('en-US')} megapixels`;
const UNREADABLE = 'is not an image this studio can read. Use a PNG, JPEG or WebP file.';

function tooLarge(name: string, width: number, height: number): Refusal {
  return {
    name,
    code: 'image-too-large',
    message: `“${name}” is too large: ${width} × ${height} px is more than the ${megapixels(MAX_INPUT_PIXELS)} the studio takes.`,
    scaleToPx: SCALE_DOWN_SIDE_PX,
  };
}

/**
 * Reads a file and checks it before it is taken: its size in bytes, SVG, the pixel size its header states (before
 * anything is decoded), then one decode so a file the window cannot show is refused here rather than after Start.
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
  const header = readImageHeader(bytes);
  if (header && header.width * header.height > MAX_INPUT_PIXELS) return tooLarge(name, header.width, header.height);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    return { name, code: 'image-unreadable', message: `“${name}” ${UNREADABLE}` };
  }
  const { width, height } = bitmap;
  bitmap.close();
  // A format the header reader does not know (AVIF, say) is judged once decoded.
  if (width * height > MAX_INPUT_PIXELS) return tooLarge(name, width, height);
  return { name, bytes, width, height };
}

/** Whether the bytes are an SVG drawing (by its type or name, or XML text that opens an <svg> element). */
function isSvg(bytes: Uint8Array, type: string, name: string): boolean {
  if (type === 'image/svg+xml' || /\.svgz?$/i.test(name)) return true;
  const head = new TextDecoder().decode(bytes.subarray(0, 1024)).replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<') && /<svg[\s>]/i.test(head);
}

export const isRefusal = <T extends object>(value: T | Refusal): value is Refusal => 'code' in value;

/**
 * The photo with its longest side at `sidePx` (high-quality resampling, EXIF orientation applied), as a JPEG when it
 * was one (photos stay small) and a PNG otherwise (transparency is kept); a Refusal when it cannot be decoded.
 */
export async function scaleDownImage(blob: Blob, name: string, sidePx: number): Promise<{ blob: Blob; name: string } | Refusal> {
  let full: ImageBitmap;
  try {
    full = await createImageBitmap(blob);
  } catch {
    return { name, code: 'image-unreadable', message: `“${name}” could not be scaled down: it ${UNREADABLE}` };
  }
  const [first, second] = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  const jpeg = first === 0xff && second === 0xd8;
  const scaled = await encodeScaled(full, sidePx, jpeg ? { type: 'image/jpeg', quality: 0.92 } : { type: 'image/png' });
  full.close();
  const stem = name.replace(/\.[^.]*$/, '');
  return { blob: scaled.blob, name: `${stem}-${scaled.sidePx}px.${jpeg ? 'jpg' : 'png'}` };
}

/** `image` with its longest side at most `sidePx` (high-quality resampling), encoded; and the longest side it got. */
export async function encodeScaled(image: ImageBitmap, sidePx: number, encode: ImageEncodeOptions): Promise<{ blob: Blob; sidePx: number }> {
  const scale = Math.min(1, sidePx / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const small = await createImageBitmap(image, { resizeWidth: width, resizeHeight: height, resizeQuality: 'high' });
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d')!.drawImage(small, 0, 0);
  small.close();
  return { blob: await canvas.convertToBlob(encode), sidePx: Math.max(width, height) };
}
