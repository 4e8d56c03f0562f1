// The browser's side of the editor's file and photo work: a PNG (or any image) read into a layer at the photo's
// size, a layer saved as a grayscale PNG, and the photo's pixels, downscaled, for auto regions.

import type { ErrorInfo } from '../../shared/result.js';
import { downloadBytes } from '../Export/download.js';
import { encodeGrayPng, layerFromRgba } from './mask-png.js';
import { autoRegions, workingSize } from './auto-regions.js';
import { resample } from './mask-document.js';
import type { AutoRegionsMessage, AutoRegionsRequest } from './auto-regions.worker.js';

/** An image's pixels drawn at width × height (the browser's own resampling). */
function pixelsOf(source: CanvasImageSource, width: number, height: number): Uint8ClampedArray {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.drawImage(source, 0, 0, width, height);
  return context.getImageData(0, 0, width, height).data;
}

/** A mask file read into a layer of width × height (resized to it); a file that is not an image is refused by name. */
export async function importLayer(file: Blob, name: string, width: number, height: number): Promise<Uint8Array | ErrorInfo> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return { code: 'mask-unreadable', message: `“${name}” is not an image, so it cannot be a mask. Use a grayscale PNG (white paints, black leaves).` };
  }
  try {
    return layerFromRgba(pixelsOf(bitmap, width, height), width * height);
  } finally {
    bitmap.close();
  }
}

/** Saves a layer as `fileName`, a grayscale PNG at the photo's size. */
export async function exportLayer(layer: Uint8Array, width: number, height: number, fileName: string): Promise<void> {
  downloadBytes(await encodeGrayPng(layer, width, height), fileName, 'image/png');
}

/** A file name's safe form for a download ("Starry Night.jpg" → "starry-night"). */
export const fileStem = (name: string): string =>
  name
    .replace(/\.[a-z0-9]+$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '') || 'layer';

/**
 * The photo split into `k` regions by colour, each a mask at the photo's size (the downscaled split's edges resized
 * bilinearly, so they come out soft). `seed` repeats a split. A worker decodes, downscales and splits it, reporting
 * `progress` (0..1); where a worker cannot start (a page from file:// may not), the page does it from `url`.
 */
export async function photoRegions(photo: { url: string; bytes: Uint8Array; width: number; height: number }, k: number, progress: (fraction: number) => void, seed = 1): Promise<Uint8Array[]> {
  const small = workingSize(photo.width, photo.height);
  const request: AutoRegionsRequest = { photo: new Blob([photo.bytes.slice()]), ...small, k, seed, outWidth: photo.width, outHeight: photo.height };
  let worker: Worker;
  try {
    worker = new Worker(new URL('./auto-regions.worker.ts', import.meta.url), { type: 'module' });
  } catch {
    return inPage(photo.url, request);
  }
  return new Promise<Uint8Array[]>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<AutoRegionsMessage>) => {
      const m = event.data;
      if (m.type === 'progress') progress(m.done / m.total);
      else {
        worker.terminate();
        if (m.type === 'done') resolve(m.masks);
        else reject(new Error(m.message));
      }
    };
    // The worker's script did not load: the same work, on this thread.
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      resolve(inPage(photo.url, request));
    };
    worker.postMessage(request);
  });
}

async function inPage(url: string, r: AutoRegionsRequest): Promise<Uint8Array[]> {
  const image = new Image();
  image.src = url;
  await image.decode();
  return autoRegions(pixelsOf(image, r.width, r.height), r.width, r.height, r.k, r.seed).map((m) => resample(m, r.width, r.height, r.outWidth, r.outHeight));
}
