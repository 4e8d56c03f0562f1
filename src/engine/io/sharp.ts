// sharp (libvips), imported the first time an image is touched rather than when a process starts: loading it costs
// ~0.15-0.2 s of CPU, and most `nst` commands (--version, refusals, runs, weights) never touch an image.

import type SharpFactory from 'sharp';

/** sharp's default export: the function that makes a pipeline. */
export type SharpModule = typeof SharpFactory;

let loading: Promise<SharpModule> | null = null;

/** sharp, imported once per process, on first use. */
export function loadSharp(): Promise<SharpModule> {
  loading ??= import('sharp').then((module) => module.default);
  return loading;
}
