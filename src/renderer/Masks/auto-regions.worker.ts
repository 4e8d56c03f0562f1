// Auto regions off the main thread: the k-means split of the downscaled photo and each region's mask resized to the
// photo (hundreds of milliseconds at 2048 px), with progress after each step; the masks come back transferred.

import { autoRegions } from './auto-regions.js';
import { resample } from './mask-document.js';

export interface AutoRegionsRequest {
  /** The photo's encoded bytes: decoded and downscaled here, off the page's thread, to width × height. */
  photo: Blob;
  width: number;
  height: number;
  k: number;
  seed: number;
  outWidth: number;
  outHeight: number;
}

export type AutoRegionsMessage = { type: 'progress'; done: number; total: number } | { type: 'done'; masks: Uint8Array[] } | { type: 'error'; message: string };

const post = (message: AutoRegionsMessage, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(message, transfer);

async function pixels(r: AutoRegionsRequest): Promise<Uint8ClampedArray> {
  const bitmap = await createImageBitmap(r.photo, { resizeWidth: r.width, resizeHeight: r.height, resizeQuality: 'medium' });
  const canvas = new OffscreenCanvas(r.width, r.height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return context.getImageData(0, 0, r.width, r.height).data;
}

self.onmessage = async (event: MessageEvent<AutoRegionsRequest>) => {
  try {
    const r = event.data;
    const total = r.k + 2;
    const rgba = await pixels(r);
    post({ type: 'progress', done: 1, total });
    const small = autoRegions(rgba, r.width, r.height, r.k, r.seed);
    post({ type: 'progress', done: 2, total });
    const masks = small.map((m, i) => {
      const full = resample(m, r.width, r.height, r.outWidth, r.outHeight);
      post({ type: 'progress', done: i + 3, total });
      return full;
    });
    post({ type: 'done', masks }, masks.map((m) => m.buffer));
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
