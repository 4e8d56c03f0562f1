// What a `nst stylize` run will write, and where, at the least: checked, before the run starts, against the data
// folder's writability and the free space of each disk.

import os from 'node:os';
import path from 'node:path';
import { checkDataFolder, checkFreeSpace, dataDir, RUN_FRAMES_FOLDER, runsDir, type PlannedWrite } from '../engine/index.js';
import { DEFAULT_CHECKPOINT_EVERY_S } from './checkpoints.js';

/**
 * Bytes per pixel an encoded image takes at the least, for "clearly too little space": a painted picture's PNG
 * takes 2–3 bytes a pixel and its JPEG (quality 90+) 0.3–0.6; these are about half of the lowest.
 */
const LEAST_BYTES_PER_PIXEL = { png: 1, jpeg: 1 / 8 } as const;
/**
 * A checkpoint holds the image and at least one image-sized optimizer buffer (GD's gradient; Adam keeps two, L-BFGS
 * dozens), as float32: 3 channels × 4 bytes × 2 buffers a pixel; a tiled run's canvas is bigger still.
 */
const LEAST_CHECKPOINT_BYTES_PER_PIXEL = 24;
/** --stop auto may end a run well before --iterations: only this share of the cap's frames are counted. */
const AUTO_STOP_SHARE = 1 / 4;

export interface StylizeWrites {
  readonly output: string;
  readonly width: number;
  readonly height: number;
  /** The data folder's runs folder when the run is checkpointed. */
  readonly checkpointDir: string | null;
  /** --frames-dir with --save-every N. */
  readonly frames: { readonly dir: string; readonly every: number } | null;
  /** --video's frame spool (the data folder's run-frames/ for a checkpointed run, else a temp folder) and its --frame-every. */
  readonly video: { readonly dir: string; readonly every: number } | null;
  /** --iterations (the cap at the output size) and whether --stop auto may end sooner. */
  readonly iterations: number;
  readonly adaptiveStop: boolean;
}

/** The least a stylize run writes into each folder it writes to (for checkFreeSpace). */
export function plannedStylizeWrites(w: StylizeWrites): PlannedWrite[] {
  const pixels = w.width * w.height;
  const jpeg = /\.jpe?g$/i.test(w.output);
  const image = Math.ceil(pixels * (jpeg ? LEAST_BYTES_PER_PIXEL.jpeg : LEAST_BYTES_PER_PIXEL.png));
  const frameCount = (every: number): number => Math.floor((w.iterations * (w.adaptiveStop ? AUTO_STOP_SHARE : 1)) / every);
  const writes: PlannedWrite[] = [{ folder: path.dirname(w.output), bytes: image, what: 'the image' }];
  if (w.checkpointDir) {
    writes.push({ folder: w.checkpointDir, bytes: pixels * LEAST_CHECKPOINT_BYTES_PER_PIXEL, what: 'its checkpoint', remedy: '--checkpoint-every 0 writes no checkpoints' });
  }
  if (w.frames) {
    const count = frameCount(w.frames.every);
    writes.push({ folder: w.frames.dir, bytes: count * pixels * LEAST_BYTES_PER_PIXEL.png, what: `${count} frames`, remedy: 'a larger --save-every writes fewer frames' });
  }
  if (w.video) {
    const count = frameCount(w.video.every);
    writes.push({ folder: w.video.dir, bytes: count * pixels * LEAST_BYTES_PER_PIXEL.png, what: `${count} video frames`, remedy: 'a larger --frame-every keeps fewer frames' });
  }
  return writes;
}

/**
 * Throws, before the weights are read, when the run's writes clearly cannot happen: a checkpointed run's data folder
 * takes no files (READ_ONLY, PERMISSION_DENIED…), or a disk has too little room for them (DISK_FULL).
 */
export async function checkStylizeWrites(args: {
  readonly raw: Record<string, string | boolean | undefined>;
  readonly output: string;
  readonly width: number;
  readonly height: number;
  readonly framesDir: string | undefined;
  readonly saveEvery: number;
  readonly videoFrameEvery: number | null;
  readonly iterations: number;
  readonly adaptiveStop: boolean;
}): Promise<void> {
  const every = args.raw.checkpointEvery;
  // --checkpoint-every was checked as it was parsed. A checkpointed --video run spools beside its checkpoint.
  const checkpointed = (typeof every === 'string' ? Number(every) : DEFAULT_CHECKPOINT_EVERY_S) > 0;
  if (checkpointed) await checkDataFolder({ write: true, remedy: '--checkpoint-every 0 runs without checkpoints' });
  await checkFreeSpace(
    plannedStylizeWrites({
      output: args.output,
      width: args.width,
      height: args.height,
      checkpointDir: checkpointed ? runsDir() : null,
      frames: args.framesDir ? { dir: args.framesDir, every: args.saveEvery } : null,
      video: args.videoFrameEvery === null ? null : { dir: checkpointed ? path.join(dataDir(), RUN_FRAMES_FOLDER) : os.tmpdir(), every: args.videoFrameEvery },
      iterations: args.iterations,
      adaptiveStop: args.adaptiveStop,
    }),
  );
}
