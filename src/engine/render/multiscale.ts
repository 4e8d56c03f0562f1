// Coarse-to-fine runs: optimise small, upsample, continue larger, up to the target size.

import { resizeImage } from '../io/image.js';
import type { PlanarImage } from '../io/image.js';
import { mapCheckpointSink, runStyleTransfer, type CheckpointSink, type IterationCount, type RunController, type RenderEvent, type RunResult, type RunSettings, type RunSnapshot } from './run.js';
import type { Vgg19Weights } from '../weights/types.js';
import type { LossMasks } from '../model/masks.js';
import { resizeTemporal, type TemporalTerm } from '../model/temporal.js';
import { NstError } from '../errors.js';

export type ScalesOption = 'auto' | 'off' | number;

/** Below this longest side a run is single-scale under `auto`; the coarsest scale is never smaller. */
export const AUTO_MULTISCALE_ABOVE_PX = 384;
const COARSEST_PX = 192;

/**
 * Longest sides of the scales, coarsest first, ending at `targetPx`; each is twice the one before.
 * `auto`: single-scale up to 384 px, else as many halvings as keep the coarsest at or above 192 px.
 */
export function scaleSizes(targetPx: number, scales: ScalesOption): number[] {
  let count: number;
  if (scales === 'off') count = 1;
  else if (scales === 'auto') {
    count = 1;
    if (targetPx > AUTO_MULTISCALE_ABOVE_PX) while (targetPx / 2 ** count >= COARSEST_PX) count++;
  } else {
    if (!Number.isInteger(scales) || scales < 1 || scales > 8) {
      throw new NstError('BAD_ARGUMENT', `scales must be auto, off or a whole number from 1 to 8, got ${scales}.`);
    }
    count = scales;
  }
  const sizes = Array.from({ length: count }, (_, i) => Math.round(targetPx / 2 ** (count - 1 - i)));
  if (sizes[0]! < 16) throw new NstError('BAD_ARGUMENT', `${count} scales of ${targetPx} px start below 16 px: use fewer scales.`);
  return sizes;
}

/**
 * Share of the iterations each coarse scale runs (the final scale runs them all): a coarse scale's job is the
 * picture's large-scale structure, and more coarse iterations do not make the full-size result better
 * (docs/memory.md, "Time-to-quality").
 */
export const COARSE_ITERATION_SHARE = 0.25;

/** Iterations per scale, coarsest first: a quarter of `iterations` (at least 1) at each coarse scale, all at the last. */
export function scaleIterations(iterations: number, scaleCount: number): number[] {
  const coarse = Math.max(1, Math.ceil(iterations * COARSE_ITERATION_SHARE));
  return Array.from({ length: scaleCount }, (_, i) => (i === scaleCount - 1 ? iterations : Math.min(iterations, coarse)));
}

/** All iterations of a multi-scale run to `targetPx` (what progress bars and checkpoints count to). */
export function multiScaleIterations(iterations: number, targetPx: number, scales: ScalesOption): number {
  return scaleIterations(iterations, scaleSizes(targetPx, scales).length).reduce((a, b) => a + b, 0);
}

export interface MultiScaleInputs {
  readonly weights: Vgg19Weights;
  /** The content at the target size (its longest side is the target). */
  readonly content: PlanarImage;
  /** The style images as decoded (any size); each scale resizes them to `styleScale` × that scale's longest side. */
  readonly styles: readonly PlanarImage[];
  /**
   * Spatial control (docs/loss.md "Masks") as given, at any size: each scale's objective resizes these originals to
   * its own image (never a coarser scale's copy upsampled).
   */
  readonly masks?: LossMasks;
  /**
   * Video (docs/loss.md "Temporal term") at `content`'s size: each coarser scale takes its target and mask resized
   * bilinearly from these (model/temporal.ts resizeTemporal).
   */
  readonly temporal?: TemporalTerm;
}

export interface MultiScaleOptions {
  readonly scales: ScalesOption;
  /** Style image longest side relative to the output's, at every scale. Default 1. */
  readonly styleScale?: number;
  readonly controller?: RunController;
  /** Events of every scale (iterations counted across the scales), tagged with the scale's index and size. */
  readonly onEvent?: (event: RenderEvent, scale: { index: number; count: number; sizePx: number }) => void;
  /** Where these scales sit in a larger render (a tiled render's whole-image pass); default: they are all of it. */
  readonly count?: IterationCount;
  /** Snapshots of the run, tagged with the scale they belong to. */
  readonly checkpoint?: CheckpointSink<StageState>;
  /** Continue from a snapshot: earlier scales are skipped, the snapshot's scale continues where it stopped. */
  readonly resume?: StageState;
}

/** A multi-stage run (scales, or a tiled render's tiles) between two iterations of stage `index`. */
export interface StageState {
  readonly index: number;
  /** Iterations the earlier stages ran (so the total still adds up after a resume). */
  readonly iterationsBefore: number;
  readonly run: RunSnapshot;
}

/** Resizes so the longest side is `longestPx`, keeping the aspect ratio (at least 1 px a side). */
export async function resizeLongest(image: PlanarImage, longestPx: number): Promise<PlanarImage> {
  const factor = longestPx / Math.max(image.width, image.height);
  const width = Math.max(1, Math.round(image.width * factor));
  const height = Math.max(1, Math.round(image.height * factor));
  return resizeImage(image, width, height);
}

/**
 * The next scale's start: the coarse result upsampled, plus the detail the coarse scale could not hold, taken
 * from the content photo (its Laplacian band: the photo at this scale minus the photo at the coarse scale,
 * upsampled), clamped to pixel range. A plain upsample is blurred, and blur is exactly what the shallow layers'
 * style terms punish (docs/memory.md, "Time-to-quality").
 */
export async function upsampleWithDetail(coarse: PlanarImage, coarseContent: PlanarImage, content: PlanarImage): Promise<PlanarImage> {
  const { width, height } = content;
  const up = (await resizeImage(coarse, width, height)).data;
  const blurredContent = (await resizeImage(coarseContent, width, height)).data;
  const data = new Float32Array(up.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.max(0, up[i]! + content.data[i]! - blurredContent[i]!));
  return { width, height, data };
}

/**
 * Runs `settings.iterations` at the last scale and a quarter of them at each coarser one (scaleIterations), each
 * starting from the previous scale's result upsampled with the photo's finer detail added (upsampleWithDetail).
 * Style and content targets are recomputed per scale from images scaled consistently; the optimizer starts fresh at
 * each scale, since its curvature pairs describe another image size.
 */
export async function runMultiScale(inputs: MultiScaleInputs, settings: RunSettings, options: MultiScaleOptions): Promise<RunResult> {
  const targetPx = Math.max(inputs.content.width, inputs.content.height);
  const sizes = scaleSizes(targetPx, options.scales);
  const iterationsAt = scaleIterations(settings.iterations, sizes.length);
  const styleScale = options.styleScale ?? 1;
  if (!Number.isFinite(styleScale) || styleScale <= 0 || styleScale > 8) {
    throw new NstError('BAD_ARGUMENT', `style scale must be a number above 0 and at most 8, got ${styleScale}.`);
  }
  const resume = options.resume;
  if (resume && (!Number.isInteger(resume.index) || resume.index < 0 || resume.index >= sizes.length)) {
    throw new NstError('BAD_ARGUMENT', `The resume state is at scale ${resume.index + 1}; this run has ${sizes.length} scales.`);
  }
  let previous: PlanarImage | null = null;
  let previousContent: PlanarImage | null = null;
  let result: RunResult | null = null;
  let totalIterations = resume?.iterationsBefore ?? 0;
  const countBefore = options.count?.before ?? 0;
  const countTotal = options.count?.total ?? iterationsAt.reduce((a, b) => a + b, 0);
  for (let index = resume?.index ?? 0; index < sizes.length; index++) {
    const sizePx = sizes[index]!;
    const content = index === sizes.length - 1 ? inputs.content : await resizeLongest(inputs.content, sizePx);
    const styles = await Promise.all(inputs.styles.map((s) => resizeLongest(s, Math.max(16, Math.round(sizePx * styleScale)))));
    const temporal = inputs.temporal ? resizeTemporal(inputs.temporal, inputs.content, content) : undefined;
    const startImage = previous && previousContent ? (await upsampleWithDetail(previous, previousContent, content)).data : undefined;
    const iterationsBefore = totalIterations;
    const sink = options.checkpoint;
    result = await runStyleTransfer(
      { weights: inputs.weights, content, styles, ...(inputs.masks ? { masks: inputs.masks } : {}), ...(temporal ? { temporal } : {}), ...(startImage ? { startImage } : {}), ...(resume && index === resume.index ? { resume: resume.run } : {}) },
      // Coarse scales run their fixed share: only the output size stops when its picture is done.
      { ...settings, iterations: iterationsAt[index]!, converge: index === sizes.length - 1 ? settings.converge : undefined },
      {
        ...(options.controller ? { controller: options.controller } : {}),
        onEvent: (event) => options.onEvent?.(event, { index, count: sizes.length, sizePx }),
        ...(sink ? { checkpoint: mapCheckpointSink(sink, (run) => ({ index, iterationsBefore, run })) } : {}),
        count: { before: countBefore + iterationsBefore, total: countTotal },
      },
    );
    totalIterations += result.iterations;
    previous = result.image;
    previousContent = content;
    if (result.stopped) break;
  }
  // Losses at different sizes are not comparable (other targets, other pixel counts): the result reports the
  // final scale's own start and end loss, and the iterations of all scales together.
  return { ...result!, iterations: totalIterations };
}
