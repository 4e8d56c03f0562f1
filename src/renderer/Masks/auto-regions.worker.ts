// Auto regions off the main thread: the k-means split of the downscaled photo and each region's mask resized to the
// photo (hundreds of milliseconds at 2048 px), with progress after each step; the masks come back transferred.

import { autoRegions } from './auto-regions.js';
import { resample } from './mask-document.js';

export interface AutoRegionsRequest {
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
  k: number;
  seed: number;
  outWidth: number;
  outHeight: number;
}

export type AutoRegionsMessage = { type: 'progress'; done: number; total: number } | { type: 'done'; masks: Uint8Array[] } | { type: 'error'; message: string };

const post = (message: AutoRegionsMessage, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(message, transfer);

self.onmessage = (event: MessageEvent<AutoRegionsRequest>) => {
  try {
    const r = event.data;
    const total = r.k + 1;
    const small = autoRegions(r.rgba, r.width, r.height, r.k, r.seed);
    post({ type: 'progress', done: 1, total });
    const masks = small.map((m, i) => {
      const full = resample(m, r.width, r.height, r.outWidth, r.outHeight);
      post({ type: 'progress', done: i + 2, total });
      return full;
    });
    post({ type: 'done', masks }, masks.map((m) => m.buffer));
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
