// Where the built app's parts sit relative to the main bundle (out/main), the same in preview and in app.asar.

import path from 'node:path';

/** Relative to out/main; electron.vite.config.ts produces exactly this layout (a test checks both agree). */
export const BUILD_LAYOUT = {
  preload: '../preload/index.cjs',
  rendererDir: '../renderer',
  worker: 'job-worker.js',
} as const;

export interface AppPaths {
  /** The sandboxed CommonJS preload script. */
  readonly preload: string;
  /** The built renderer, served as app://studio/. */
  readonly rendererDir: string;
  /** The worker_threads script the run queue's WorkerHost starts (and keeps while it is idle). */
  readonly worker: string;
}

/** mainDir: the folder of the running main bundle (import.meta.dirname of out/main/index.js). */
export function appPaths(mainDir: string): AppPaths {
  return {
    preload: path.join(mainDir, BUILD_LAYOUT.preload),
    rendererDir: path.join(mainDir, BUILD_LAYOUT.rendererDir),
    worker: path.join(mainDir, BUILD_LAYOUT.worker),
  };
}
