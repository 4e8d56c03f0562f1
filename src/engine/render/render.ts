// A run at the requested size that fits in memory: whole, optimised smaller and upsampled, or tiled; retried smaller on OOM.

import { resizeImage } from '../io/image.js';
import type { PlanarImage } from '../io/image.js';
import { multiScaleIterations, resizeLongest, runMultiScale, type MultiScaleInputs, type ScalesOption, type StageState } from './multiscale.js';
import { mapCheckpointSink, type CheckpointSink, type RunController, type RenderEvent, type RunResult, type RunSettings } from './run.js';
import { DEFAULT_TILE_OVERLAP_PX, estimateMemory, formatBytes, isOutOfMemoryError, largestFittingSize, planTiling, sizeWithLongest, withExecution, type EstimateSpec, type RunShape } from './memory.js';
import { resolveExecution } from './execution.js';
import { planTiles, type TileRect } from './tiles/layout.js';
import type { CompositorState } from './tiles/compositor.js';
import { runTiled, tiledIterations, type TiledState, type RenderPhase } from './tiles/run.js';
import type { LossBreakdown } from '../model/objective.js';
import type { LossMasks } from '../model/masks.js';
import { resizeTemporal } from '../model/temporal.js';
import { isFlat } from '../model/balance.js';
import { summariseOrtError } from '../model/runtime/ort-error.js';
import { NstError } from '../errors.js';

/** `auto`: tile only when the whole image does not fit; `off`: never tile (optimise smaller and upsample instead); N: tiles of N px. */
export type TileOption = 'auto' | 'off' | number;

export type RenderPlan =
  | { readonly mode: 'whole'; readonly sizePx: number; readonly estimateBytes: number }
  /** Optimised at `sizePx` (longest side), then upsampled to the requested size. */
  | { readonly mode: 'downscaled'; readonly sizePx: number; readonly estimateBytes: number }
  | { readonly mode: 'tiled'; readonly tilePx: number; readonly overlapPx: number; readonly coherencePx: number; readonly tiles: number; readonly estimateBytes: number };

export interface RenderSpec {
  readonly width: number;
  readonly height: number;
  readonly settings: Pick<RunSettings, 'styleLayers' | 'contentLayers' | 'pool' | 'optimizer' | 'device' | 'convAlgorithm' | 'backend'>;
  readonly styleImages?: number;
  readonly styleScale?: number;
  /** Style masks (one per style image, or none) and whether a content mask: what they add to memory (RunShape). */
  readonly styleMasks?: number;
  readonly contentMask?: boolean;
  /** Whether the run has a temporal term (its target and mask: RunShape.temporal). */
  readonly temporal?: boolean;
}

function renderShape(spec: RenderSpec): RunShape {
  const { styleLayers, contentLayers, pool, optimizer } = spec.settings;
  return {
    width: spec.width, height: spec.height, styleLayers, contentLayers, pool, optimizer, styleImages: spec.styleImages ?? 1, styleScale: spec.styleScale ?? 1,
    ...(spec.styleMasks ? { styleMasks: spec.styleMasks } : {}),
    ...(spec.contentMask ? { contentMask: true } : {}),
    ...(spec.temporal ? { temporal: true } : {}),
  };
}

/**
 * The estimator's spec for a render spec: its shape and the execution decided for it (render/execution.ts), within
 * `limitBytes` when given.
 */
export function estimateSpec(spec: RenderSpec, limitBytes?: number): EstimateSpec {
  const shape = renderShape(spec);
  return withExecution(shape, resolveExecution(spec.settings, shape, limitBytes === undefined ? {} : { memoryLimitBytes: limitBytes }));
}

/**
 * How to render spec's size within `limitBytes`, and the one-line reason when that is not the whole image at
 * once (or when the tiles cannot overlap by `askedOverlapPx`; absent: DEFAULT_TILE_OVERLAP_PX, cut silently).
 * Throws RUNTIME_FAILURE (naming the smallest need) when not even 64-px tiles fit.
 */
export function planRender(spec: RenderSpec, limitBytes: number, tile: TileOption, askedOverlapPx?: number): { plan: RenderPlan; notice: string | null } {
  const overlapPx = askedOverlapPx ?? DEFAULT_TILE_OVERLAP_PX;
  const e = estimateSpec(spec, limitBytes);
  const longest = Math.max(spec.width, spec.height);
  const need = estimateMemory(e).totalBytes;
  const over = `${spec.width}x${spec.height} needs about ${formatBytes(need)}, over the ${formatBytes(limitBytes)} memory limit`;
  const tiled = (maxTilePx?: number): RenderPlan | null => {
    const p = planTiling(e, limitBytes, { overlapPx, ...(maxTilePx !== undefined ? { maxTilePx } : {}) });
    if (!p) return null;
    const count = planTiles(spec.width, spec.height, p.tilePx, p.overlapPx).length;
    return { mode: 'tiled', tilePx: p.tilePx, overlapPx: p.overlapPx, coherencePx: p.coherencePx, tiles: count, estimateBytes: p.totalBytes };
  };
  const describe = (plan: RenderPlan): string =>
    plan.mode === 'tiled'
      ? `rendering ${plan.tiles} tiles of ${plan.tilePx} px (overlap ${plan.overlapPx} px) after a whole-image pass at ${plan.coherencePx} px`
      : `optimising at ${plan.sizePx} px and upsampling to ${longest} px`;

  // Tiles overlap by at most a quarter of their side (planTiling cuts a larger overlap to that): an overlap asked for
  // is not cut silently. The default is cut as planned (the studio always passes its setting, the default included).
  const overlapCut = (plan: RenderPlan): string | null =>
    askedOverlapPx !== undefined && askedOverlapPx !== DEFAULT_TILE_OVERLAP_PX && plan.mode === 'tiled' && plan.tiles > 1 && plan.overlapPx < askedOverlapPx ? `the ${overlapPx}-px tile overlap is more than a quarter of the ${plan.tilePx}-px tiles: they overlap by ${plan.overlapPx} px` : null;
  const joined = (...parts: (string | null)[]): string | null => parts.filter((p) => p !== null).join('; ') || null;

  if (typeof tile === 'number') {
    const plan = tiled(tile);
    if (!plan) throw nothingFits(e, limitBytes);
    const smaller = plan.mode === 'tiled' && plan.tilePx < Math.min(tile, longest) ? `${tile}-px tiles do not fit in ${formatBytes(limitBytes)}: ${describe(plan)}` : null;
    return { plan, notice: joined(smaller, overlapCut(plan)) };
  }
  if (need <= limitBytes) return { plan: { mode: 'whole', sizePx: longest, estimateBytes: need }, notice: null };
  if (tile === 'auto') {
    const plan = tiled();
    if (plan) return { plan, notice: joined(`${over}: ${describe(plan)}`, overlapCut(plan)) };
  }
  const fit = largestFittingSize(e, limitBytes);
  if (fit === null) throw nothingFits(e, limitBytes);
  const plan: RenderPlan = { mode: 'downscaled', sizePx: fit, estimateBytes: estimateMemory({ ...e, ...sizeWithLongest(e.width, e.height, fit) }).totalBytes };
  return { plan, notice: `${over}: ${describe(plan)}` };
}

/**
 * spec with its conv algorithm pinned to Conv where the execution within `limitBytes` took Conv for the limit: each
 * stage of the render decides at its own size, and this keeps every stage on what planRender planned.
 */
export function convForLimit(spec: RenderSpec, limitBytes: number): RenderSpec {
  if (resolveExecution(spec.settings, renderShape(spec), { memoryLimitBytes: limitBytes }).convReason !== 'memory-limit') return spec;
  return { ...spec, settings: { ...spec.settings, convAlgorithm: 'direct' } };
}

function nothingFits(e: EstimateSpec, limitBytes: number): NstError {
  const smallest = estimateMemory({ ...e, ...sizeWithLongest(e.width, e.height, 64) }).totalBytes;
  return new NstError(
    'RUNTIME_FAILURE',
    `Not even a 64-px run fits in the ${formatBytes(limitBytes)} memory limit (it needs about ${formatBytes(smallest)}): raise --memory-limit or choose shallower layers.`,
  );
}

export interface RenderOptions {
  readonly scales: ScalesOption;
  readonly styleScale?: number;
  readonly tile: TileOption;
  readonly tileOverlapPx?: number;
  readonly memoryLimitBytes: number;
  readonly controller?: RunController;
  /** Every stage's events, iterations counted across the whole plan (planIterations). */
  readonly onEvent?: (event: RenderEvent, phase: RenderPhase) => void;
  /** After each tile is blended in (tiled plans): the whole image so far (a fresh buffer). */
  readonly onTile?: (canvas: PlanarImage, tile: TileRect, index: number, count: number) => void;
  /** Each plan before it runs (again after an out-of-memory retry). */
  readonly onPlan?: (plan: RenderPlan) => void;
  /** One line whenever memory changes the plan, or a resumed checkpoint does not say which weights it was made with. */
  readonly onNotice?: (message: string) => void;
  /** Snapshots for checkpoints, each with the plan and the stage (scale, pass or tile) it belongs to. */
  readonly checkpoint?: CheckpointSink<RenderState>;
  /** Continue a checkpointed render: its plan is used as it was (not planned again), from its stage on. */
  readonly resume?: RenderState;
}

/** A render between two iterations: the plan and where in it (see StageState; tiles also carry their canvas). */
export interface RenderState {
  readonly plan: RenderPlan;
  readonly phase: RenderPhase['phase'];
  readonly stage: StageState;
  /** Phase 'tile' only. */
  readonly canvas?: CompositorState;
  /** Phase 'tile' only: the whole-image pass's first loss, the tiled result's initial loss. */
  readonly passInitialLoss?: LossBreakdown;
  /** The run's masks as given (inputs.masks), saved with its checkpoints so a resumption paints the same regions. */
  readonly masks?: LossMasks;
}

export interface RenderResult extends RunResult {
  readonly plan: RenderPlan;
  readonly notices: readonly string[];
}

const MAX_ATTEMPTS = 5;
/**
 * After an out-of-memory failure the limit drops to this share of what the failed plan was estimated to need: a step
 * large enough that the retry fits at once, because a failure can also land where it cannot be caught (onnxruntime-
 * node copies each output into a new ArrayBuffer, and V8 ends the process when that allocation fails). With 0.85 a
 * data-segment limit took two retries about half the time, and the second could end that way.
 */
const RETRY_SHARE = 0.7;

/**
 * Renders `inputs.content`'s size with the plan planRender picks for the memory limit. When onnxruntime (or an
 * allocation in the optimizer) runs out of memory anyway, the limit is lowered to 85% of what the failed plan was
 * estimated to need and the run starts over with the new plan, saying so in one line (progress is not kept).
 */
export async function renderStyleTransfer(inputs: MultiScaleInputs, settings: RunSettings, options: RenderOptions): Promise<RenderResult> {
  const { width, height } = inputs.content;
  const spec: RenderSpec = {
    width, height, settings, styleImages: inputs.styles.length, styleScale: options.styleScale ?? 1,
    ...(inputs.masks?.styles?.length ? { styleMasks: inputs.masks.styles.length } : {}),
    ...(inputs.masks?.content ? { contentMask: true } : {}),
    ...(inputs.temporal ? { temporal: true } : {}),
  };
  const notices: string[] = [];
  const notice = (message: string): void => {
    notices.push(message);
    options.onNotice?.(message);
  };
  let limit = options.memoryLimitBytes;
  let failure: string | null = null;
  let resume = options.resume;
  if (resume) checkResumePlan(resume, width, height);
  // A checkpoint of other weights is refused before anything is planned or built (each stage asks again, quietly).
  const weightsNotice = options.checkpoint?.useWeights?.(inputs.weights);
  if (weightsNotice) notice(weightsNotice);
  const flat = flatContentNotice(inputs, settings);
  if (flat) notice(flat);
  for (let attempt = 1; ; attempt++) {
    let planned: ReturnType<typeof planRender>;
    try {
      // A resumed render keeps its plan: the stage it saved belongs to that plan (today's memory may differ).
      planned = resume ? { plan: resume.plan, notice: null } : planRender(spec, limit, options.tile, options.tileOverlapPx);
    } catch (error) {
      if (failure === null || !(error instanceof NstError)) throw error;
      throw new NstError('RUNTIME_FAILURE', `Out of memory ${failure}, and ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}`, { cause: error });
    }
    const { plan, notice: reason } = planned;
    if (reason) notice(reason);
    options.onPlan?.(plan);
    try {
      const conv = convForLimit(spec, limit).settings.convAlgorithm;
      const result = await execute(inputs, conv === undefined ? settings : { ...settings, convAlgorithm: conv }, options, plan, resume);
      return { ...result, plan, notices };
    } catch (error) {
      if (!isOutOfMemoryError(error) || attempt >= MAX_ATTEMPTS) throw error;
      limit = Math.min(limit, RETRY_SHARE * plan.estimateBytes);
      failure = `${plan.mode === 'tiled' ? `with ${plan.tilePx}-px tiles` : `at ${plan.sizePx} px`} (${allocationFailure(error)})`;
      notice(`out of memory ${failure}: retrying within ${formatBytes(limit)}${resume ? ', starting over (the checkpoint belongs to the old plan)' : ''}`);
      resume = undefined;
    }
  }
}

function hasMasks(masks: LossMasks | undefined): masks is LossMasks {
  return masks !== undefined && ((masks.styles?.length ?? 0) > 0 || masks.content !== undefined);
}

/**
 * What a flat content image (one colour) changes, in one line, or null. Started from it, a run can only shift that
 * colour: a flat image's gradient is flat too, so no texture can grow (the optimizer stopped at once). And with
 * normalised terms its TV, which is 0, cannot set the TV term's scale: the painting's does (balance.ts).
 */
function flatContentNotice(inputs: MultiScaleInputs, settings: RunSettings): string | null {
  if (!isFlat(inputs.content)) return null;
  const parts: string[] = [];
  if (settings.init === 'content') parts.push('a run that starts from it can only shift that colour (a flat start gives the style no texture to grow from): start from noise to paint it');
  if (settings.normalize && settings.tvWeight > 0 && inputs.styles.some((style) => !isFlat(style))) parts.push('its TV term is weighed against the style image\'s variation, as it has none');
  return parts.length > 0 ? `the content image is one flat colour: ${parts.join('; ')}` : null;
}

/** The short cause of an allocation failure: onnxruntime's or V8's own words, without the native source path. */
function allocationFailure(error: unknown): string {
  const pattern = /Failed to allocate memory for requested buffer of size \d+|std::bad_alloc|Array buffer allocation failed|CUDNN_STATUS_ALLOC_FAILED|out of memory/i;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++, e = (e as Error & { cause?: unknown }).cause) {
    const match = pattern.exec(e.message);
    if (match) return match[0];
  }
  return summariseOrtError(error).slice(0, 120);
}

async function execute(inputs: MultiScaleInputs, settings: RunSettings, options: RenderOptions, plan: RenderPlan, resume: RenderState | undefined): Promise<RunResult> {
  const common = {
    scales: options.scales,
    ...(options.styleScale !== undefined ? { styleScale: options.styleScale } : {}),
    ...(options.controller ? { controller: options.controller } : {}),
  };
  const sink = options.checkpoint;
  // Saved with every checkpoint of the render, so a resumption paints the same regions.
  const masks = hasMasks(inputs.masks) ? { masks: inputs.masks } : {};
  if (plan.mode === 'tiled') {
    let tiledResume: TiledState | undefined;
    if (resume?.phase === 'tile') {
      if (!resume.canvas || !resume.passInitialLoss) throw new NstError('BAD_ARGUMENT', 'The resume state is in a tile but holds no tile canvas.');
      tiledResume = { phase: 'tile', stage: resume.stage, canvas: resume.canvas, passInitialLoss: resume.passInitialLoss };
    } else if (resume) tiledResume = { phase: 'coherence', stage: resume.stage };
    const temporal = inputs.temporal ? { temporal: inputs.temporal } : {};
    return runTiled({ weights: inputs.weights, content: inputs.content, styles: inputs.styles, ...masks, ...temporal }, settings, {
      ...common,
      tilePx: plan.tilePx,
      overlapPx: plan.overlapPx,
      coherencePx: plan.coherencePx,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.onTile ? { onTile: options.onTile } : {}),
      ...(sink ? { checkpoint: mapCheckpointSink(sink, (state: TiledState): RenderState => ({ plan, ...state, ...masks })) } : {}),
      ...(tiledResume ? { resume: tiledResume } : {}),
    });
  }
  const { width, height } = inputs.content;
  const content = plan.mode === 'downscaled' ? await resizeLongest(inputs.content, plan.sizePx) : inputs.content;
  const temporal = inputs.temporal ? { temporal: resizeTemporal(inputs.temporal, inputs.content, content) } : {};
  const result = await runMultiScale({ ...inputs, content, ...temporal }, settings, {
    ...common,
    onEvent: (event, scale) => options.onEvent?.(event, { phase: 'scale', index: scale.index, count: scale.count, sizePx: scale.sizePx }),
    ...(sink ? { checkpoint: mapCheckpointSink(sink, (stage: StageState): RenderState => ({ plan, phase: 'scale', stage, ...masks })) } : {}),
    ...(resume ? { resume: resume.stage } : {}),
  });
  if (plan.mode === 'whole') return result;
  return { ...result, image: await resizeImage(result.image, width, height) };
}

/** Throws BAD_ARGUMENT unless the state's plan and phase can belong to a render of this size. */
function checkResumePlan(state: RenderState, width: number, height: number): void {
  const { plan, phase } = state;
  const tiled = plan.mode === 'tiled';
  if (tiled ? phase === 'scale' : phase !== 'scale') {
    throw new NstError('BAD_ARGUMENT', `The resume state is in a ${phase} stage, which a ${plan.mode} plan does not have.`);
  }
  if (!tiled && plan.sizePx > Math.max(width, height)) {
    throw new NstError('BAD_ARGUMENT', `The resume state's plan optimises at ${plan.sizePx} px, above this ${width}x${height} output.`);
  }
}

/** Optimiser iterations a plan runs in all (for a progress bar): every scale (multiScaleIterations), or the pass's scales and every tile. */
export function planIterations(plan: RenderPlan, iterations: number, scales: ScalesOption): number {
  if (plan.mode === 'tiled') return tiledIterations(iterations, plan.coherencePx, scales, plan.tiles);
  return multiScaleIterations(iterations, plan.sizePx, scales);
}
