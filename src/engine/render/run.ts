// One style-transfer run: build the objective, iterate an optimizer over the image, emit events, pause/stop.

import { StyleObjective, type LossBreakdown, type LossWeights } from '../model/objective.js';
import type { LossMasks } from '../model/masks.js';
import type { TemporalTerm } from '../model/temporal.js';
import type { PlanarImage } from '../io/image.js';
import type { PoolKind } from '../settings.js';
import type { Device, RuntimeBackend } from '../model/runtime/runtime.js';
import { objectiveShape, resolveExecution } from './execution.js';
import type { DeviceRequest } from '../settings.js';
import { CONV_ALGORITHMS } from '../settings.js';
import type { ConvAlgorithm } from '../settings.js';
import type { OptimizerName, OptimizerState } from '../optim/types.js';
import { createOptimizer } from '../optim/index.js';
import type { Vgg19Weights } from '../weights/types.js';
import { createRng } from '../sys/random.js';
import { isNstError, NstError } from '../errors.js';
import type { InitMode } from '../settings.js';
import { nonFiniteLoss } from './loss-failure.js';
import { ConvergenceWindow, meanAbsoluteChange, type ConvergedStop, type ConvergenceRule, type ConvergenceState, type StopReason } from './convergence.js';

/** L-BFGS's first step (no curvature yet) moves the most-affected pixel by this many levels of 255. */
const LBFGS_FIRST_STEP_LEVELS = 8;


export interface RunSettings extends LossWeights {
  readonly iterations: number;
  readonly optimizer: OptimizerName;
  /** Optimizer step size; undefined takes the optimizer's default. */
  readonly learningRate?: number;
  readonly styleLayers: readonly string[];
  readonly contentLayers: readonly string[];
  readonly styleBlend?: readonly number[];
  readonly pool: PoolKind;
  readonly init: InitMode;
  readonly seed: number;
  readonly device?: DeviceRequest;
  readonly threads?: number;
  readonly backend?: RuntimeBackend;
  /** 3x3 convs as onnxruntime's Conv or Winograd F(4x4,3x3) (graph/ops/conv.ts); undefined = 'auto' (by provider and memory: render/execution.ts). */
  readonly convAlgorithm?: ConvAlgorithm;
  /** Emit a `progress` event every N iterations (and always the first and last). */
  readonly reportEvery?: number;
  /** Attach a copy of the image to the progress event every N iterations (0 = never). */
  readonly imageEvery?: number;
  /** Stop before `iterations` once the picture has stopped changing (render/convergence.ts); absent: run them all. */
  readonly converge?: ConvergenceRule;
}

export interface RunInputs {
  readonly weights: Vgg19Weights;
  /** The content image at the output size; its size is the output's. */
  readonly content: PlanarImage;
  readonly styles: readonly PlanarImage[];
  /** Start from this image instead of `init` (resume, or continuing after a graph rebuild). */
  readonly startImage?: Float32Array;
  /** Style Grams computed elsewhere (tiled rendering: the whole style image's); `styles` may then be empty. */
  readonly styleTargets?: ReadonlyMap<string, Float32Array>;
  /** With style masks: each style image's Grams computed elsewhere (tiled rendering); `styles` may then be empty. */
  readonly guidedTargets?: ReadonlyMap<string, readonly Float32Array[]>;
  /** Continue a checkpointed run: its image, optimizer state and objective scale replace `startImage` and `init`. */
  readonly resume?: RunSnapshot;
  /** Spatial control (docs/loss.md "Masks"), at any size: the objective resizes them to this run's image. */
  readonly masks?: LossMasks;
  /** Video (docs/loss.md "Temporal term"): frame t−1's result warped to this frame and its mask, at `content`'s size. */
  readonly temporal?: TemporalTerm;
}

/**
 * A run between two iterations, complete enough to continue it exactly: a resumed run takes the same steps the
 * uninterrupted one would have taken. Buffers are copies (the caller's to keep or write out).
 */
export interface RunSnapshot {
  /** Completed iterations. */
  readonly iteration: number;
  readonly image: Float32Array;
  readonly optimizer: OptimizerState;
  /**
   * The factor the objective is scaled by (from the first gradient). Restored, never recomputed: the optimizer's
   * loss, gradient and curvature pairs are all in scaled units.
   */
  readonly objectiveScale: number;
  /** The loss at the current image when the last step already evaluated it (L-BFGS), reported by the next step. */
  readonly carried: LossBreakdown | null;
  /** The loss of the run's first iteration, so the resumed run's result reports the same before/after. */
  readonly initialLoss: LossBreakdown | null;
  /** Loss weights set mid-run (RunController.setWeights), or null when the settings' own apply. */
  readonly weights: LossWeights | null;
  /** The adaptive stop's window (settings.converge); null or absent (older checkpoints): it starts empty. */
  readonly convergence?: ConvergenceState | null;
}

/**
 * Where a run hands its snapshots. The loop asks `due()` after each iteration and, when it says yes, copies its
 * state and calls `save` without waiting for it; the sink decides when (an interval) and must never have two
 * writes of one run in flight (due() says no while one is). `final` snapshots are taken when a run is stopped,
 * so a stopped run can be continued too.
 */
export interface CheckpointSink<T = RunSnapshot> {
  due(): boolean;
  /** `force`: write this one even if not due (a pause); `final`: the run was stopped here (implies force). */
  save(state: T, options?: { final?: boolean; force?: boolean }): void | Promise<void>;
  /**
   * A state above this many bytes is not copied: the loop hands over its live buffers and waits for the write
   * (a stall instead of a second copy of the optimizer's memory). Absent: always copied.
   */
  readonly copyLimitBytes?: number;
  /**
   * Told the weights the run computes with, before any work: a sink that writes checkpoints records which weights
   * they belong to, and one that continues a checkpoint throws (BAD_CHECKPOINT) when these are other weights; it
   * may return one line to pass on (a checkpoint that does not say which weights it was made with).
   */
  useWeights?(weights: Vgg19Weights): string | null;
}

/** The same sink for a wrapped state (a stage of a larger render): `wrap` adds what the outer level knows. */
export function mapCheckpointSink<A, B>(sink: CheckpointSink<B>, wrap: (state: A) => B): CheckpointSink<A> {
  return {
    due: () => sink.due(),
    save: (state, options) => sink.save(wrap(state), options),
    ...(sink.copyLimitBytes !== undefined ? { copyLimitBytes: sink.copyLimitBytes } : {}),
    ...(sink.useWeights ? { useWeights: (weights: Vgg19Weights) => sink.useWeights!(weights) } : {}),
  };
}

/**
 * Where a run's iterations sit in the whole render it is a stage of (a scale, a tile, the studio's segment after a
 * rebuild): the iterations every earlier stage ran, and the render's planned total. Events count in these terms.
 */
export interface IterationCount {
  readonly before: number;
  readonly total: number;
}

/**
 * What a render reports. `iteration` and `iterations` count across the whole render (every scale and tile, from its
 * IterationCount), so front ends show them as they are; `stageIteration` / `stageIterations` count within the stage.
 * `started` comes at each stage's start, `iteration` being the iterations done before it.
 */
export type RenderEvent =
  | { type: 'started'; iteration: number; width: number; height: number; device: Device; fallbackReason: string | null; setupMs: number }
  | { type: 'progress'; iteration: number; iterations: number; stageIteration: number; stageIterations: number; loss: LossBreakdown; ms: number; image?: PlanarImage }
  | { type: 'paused'; iteration: number }
  | { type: 'resumed'; iteration: number }
  /**
   * The picture stopped changing (settings.converge). The run ends here, unless a handler holds it there
   * (RunController.holdAtConvergence): then it waits, and when resumed runs on to its cap without the adaptive stop
   * (the studio's "keep going"). A plain pause that happens to be pending does not hold it.
   */
  | { type: 'converged'; iteration: number; stop: ConvergedStop }
  /**
   * A mask edit (RunController.setMasks) was taken at this iteration, or refused with a sentence that says why (a
   * region the deepest style layer never sees, another kind of masks than the graph's): a refused edit leaves the
   * run's masks as they were, and the run goes on. `masks` is the edit as it was given.
   */
  | { type: 'masks'; iteration: number; masks: LossMasks; refused: string | null };

export interface RunResult {
  readonly image: PlanarImage;
  readonly iterations: number;
  /** Loss at the start image and at the final image. */
  readonly initialLoss: LossBreakdown;
  readonly finalLoss: LossBreakdown;
  readonly stopped: boolean;
  /** Why the run ended (a render's: its last stage's); `stopped` is stop.kind === 'stopped'. */
  readonly stop: StopReason;
  readonly device: Device;
}

/** Steers a run from outside: pause, resume, stop, and loss weights and masks that apply from the next iteration. */
export class RunController {
  private readonly abortController = new AbortController();
  private pausedGate: Promise<void> | null = null;
  private release: (() => void) | null = null;
  private pendingWeights: LossWeights | null = null;
  private pendingMasks: LossMasks | null = null;
  private holding = false;

  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  get paused(): boolean {
    return this.pausedGate !== null;
  }

  pause(): void {
    if (this.pausedGate) return;
    this.pausedGate = new Promise((resolve) => (this.release = resolve));
  }

  resume(): void {
    this.release?.();
    this.pausedGate = null;
    this.release = null;
  }

  /** Ends the run after the current iteration; the run resolves with the image so far. */
  stop(): void {
    this.abortController.abort();
    this.resume();
  }

  setWeights(weights: LossWeights): void {
    this.pendingWeights = weights;
  }

  /**
   * New masks of the kind the run was started with (as many style masks, a content mask or not: the graph's inputs),
   * at any size; checked at the next iteration before they reach the graph (StyleObjective.setMasks). The run's
   * 'masks' event says whether they were taken; masks it cannot use are refused there, and it goes on with its own.
   */
  setMasks(masks: LossMasks): void {
    this.pendingMasks = masks;
  }

  /** In answer to a 'converged' event: wait there (paused) instead of ending; resume() keeps going to the cap. */
  holdAtConvergence(): void {
    this.holding = true;
    this.pause();
  }

  /** @internal whether a handler asked to hold the run at its convergence (asked once per convergence). */
  takeHold(): boolean {
    const hold = this.holding;
    this.holding = false;
    return hold;
  }

  /** @internal used by the run loop. */
  takeWeights(): LossWeights | null {
    const w = this.pendingWeights;
    this.pendingWeights = null;
    return w;
  }

  /** @internal used by the run loop. */
  takeMasks(): LossMasks | null {
    const m = this.pendingMasks;
    this.pendingMasks = null;
    return m;
  }

  /** @internal */
  async waitWhilePaused(): Promise<boolean> {
    if (!this.pausedGate) return false;
    await this.pausedGate;
    return true;
  }
}

export function validateRunSettings(s: RunSettings): void {
  if (!Number.isInteger(s.iterations) || s.iterations < 0 || s.iterations > 1_000_000) {
    throw new NstError('BAD_ARGUMENT', `iterations must be a whole number from 0 to 1000000, got ${s.iterations}.`);
  }
  if (s.learningRate !== undefined && (!Number.isFinite(s.learningRate) || s.learningRate <= 0)) {
    throw new NstError('BAD_ARGUMENT', `The learning rate must be a number above 0, got ${s.learningRate}.`);
  }
  if (!Number.isSafeInteger(s.seed)) throw new NstError('BAD_ARGUMENT', `The seed must be a whole number, got ${s.seed}.`);
  if (!['content', 'noise', 'style'].includes(s.init)) {
    throw new NstError('BAD_ARGUMENT', `init must be content, noise or style, got "${s.init}".`);
  }
  if (!['max', 'avg'].includes(s.pool)) throw new NstError('BAD_ARGUMENT', `pool must be max or avg, got "${s.pool}".`);
  if (s.convAlgorithm !== undefined && !(CONV_ALGORITHMS as readonly string[]).includes(s.convAlgorithm)) {
    throw new NstError('BAD_ARGUMENT', `convAlgorithm must be ${CONV_ALGORITHMS.join(', ')}, got "${s.convAlgorithm}".`);
  }
  const c = s.converge;
  if (c && (!Number.isInteger(c.window) || c.window < 1 || !(c.lossDecrease >= 0) || !(c.pixelChange >= 0) || !Number.isFinite(c.lossDecrease + c.pixelChange))) {
    throw new NstError('BAD_ARGUMENT', `The convergence rule needs a window of at least 1 iteration and finite thresholds ≥ 0, got ${JSON.stringify(c)}.`);
  }
}

/** The starting image: the content, seeded uniform noise, or the first style image resized (nearest) to the output. */
export function initialImage(mode: InitMode, content: PlanarImage, styles: readonly PlanarImage[], seed: number): Float32Array {
  if (mode === 'content') return Float32Array.from(content.data);
  if (mode === 'noise') {
    const rng = createRng(seed);
    return Float32Array.from(content.data, () => 255 * rng.uniform());
  }
  const style = styles[0];
  if (!style) throw new NstError('BAD_ARGUMENT', 'init "style" needs a style image.');
  const { width, height } = content;
  const out = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const sy = Math.min(style.height - 1, Math.floor(((y + 0.5) * style.height) / height));
      for (let x = 0; x < width; x++) {
        const sx = Math.min(style.width - 1, Math.floor(((x + 0.5) * style.width) / width));
        out[(c * height + y) * width + x] = style.data[(c * style.height + sy) * style.width + sx]!;
      }
    }
  }
  return out;
}

/** Throws BAD_ARGUMENT when a resume state cannot belong to a run with these settings. */
function checkResumeState(state: RunSnapshot, settings: RunSettings): void {
  if (!Number.isInteger(state.iteration) || state.iteration < 0 || state.iteration > settings.iterations) {
    throw new NstError('BAD_ARGUMENT', `The resume state is at iteration ${state.iteration}; this run has ${settings.iterations} iterations.`);
  }
  if (state.optimizer.name !== settings.optimizer) {
    throw new NstError('BAD_ARGUMENT', `The resume state holds a ${state.optimizer.name} optimizer; this run uses ${settings.optimizer}.`);
  }
  if (!Number.isFinite(state.objectiveScale) || state.objectiveScale <= 0) {
    throw new NstError('BAD_ARGUMENT', `The resume state's objective scale must be a finite number above 0, got ${state.objectiveScale}.`);
  }
}

/** 1 / RMS of the gradient, or 1 when that is not a usable number (a zero or non-finite gradient). */
function unitRmsScale(gradient: Float32Array): number {
  let sumSquares = 0;
  for (const g of gradient) sumSquares += g * g;
  const rms = Math.sqrt(sumSquares / gradient.length);
  return rms > 0 && Number.isFinite(rms) ? 1 / rms : 1;
}

/** How a run is steered and what it reports to (runStyleTransfer, runOnObjective). */
export interface RunOptions {
  readonly controller?: RunController;
  readonly onEvent?: (event: RenderEvent) => void;
  readonly checkpoint?: CheckpointSink;
  readonly count?: IterationCount;
  /**
   * What a mask edit becomes for this run (a tile's crop of it), or null when it is taken but changes nothing here
   * (it reaches a later stage); throws NstError or RangeError to refuse it. Absent: the edit itself.
   */
  readonly adaptMasks?: (edit: LossMasks) => LossMasks | null;
}

/** Runs the optimisation. Events are delivered synchronously from the loop; keep handlers cheap. */
export async function runStyleTransfer(inputs: RunInputs, settings: RunSettings, options: RunOptions = {}): Promise<RunResult> {
  validateRunSettings(settings);
  if (inputs.resume) checkResumeState(inputs.resume, settings);
  // Before the graph is built: a checkpoint of other weights is refused at once.
  options.checkpoint?.useWeights?.(inputs.weights);
  const setupStart = performance.now();
  const objective = await createRunObjective(inputs, settings);
  try {
    return await iterate(objective, inputs, settings, options, setupStart);
  } finally {
    await objective.dispose();
  }
}

/** The objective runStyleTransfer builds for `inputs` (targets, masks, temporal term), on the execution resolved for their size. */
export function createRunObjective(inputs: RunInputs, settings: RunSettings): Promise<StyleObjective> {
  const { width, height } = inputs.content;
  return StyleObjective.create({
    ...settings,
    weights: inputs.weights,
    width,
    height,
    styleImages: inputs.styles,
    contentImage: inputs.content,
    ...(inputs.styleTargets ? { styleTargets: inputs.styleTargets } : {}),
    ...(inputs.guidedTargets ? { guidedTargets: inputs.guidedTargets } : {}),
    ...(inputs.masks ? { masks: inputs.masks } : {}),
    ...(inputs.temporal ? { temporal: inputs.temporal } : {}),
    execution: resolveExecution(settings, objectiveShape(inputs.content, settings, inputs.styleTargets || inputs.guidedTargets ? [] : inputs.styles)),
  });
}

/** What a run on an objective the caller owns still reads: the start (or a checkpoint) and the weights' identity. */
export type ObjectiveRunInputs = Pick<RunInputs, 'weights' | 'content' | 'styles' | 'startImage' | 'resume'>;

/**
 * runStyleTransfer's iterations on an objective the caller keeps across runs (a video job's, one per job: building
 * it costs more than a frame's iterations). It comes from createRunObjective for a content image of this size, with
 * this run's content, temporal term and weights fed (setContent, setTemporal, setWeights); it is not disposed here.
 * The 'started' event's setupMs is next to nothing: the setup was the caller's.
 */
export async function runOnObjective(objective: StyleObjective, inputs: ObjectiveRunInputs, settings: RunSettings, options: RunOptions = {}): Promise<RunResult> {
  validateRunSettings(settings);
  if (inputs.resume) checkResumeState(inputs.resume, settings);
  options.checkpoint?.useWeights?.(inputs.weights);
  const { width, height } = inputs.content;
  if (width !== objective.width || height !== objective.height) {
    throw new RangeError(`The content image is ${width}x${height}; the objective was built for ${objective.width}x${objective.height}.`);
  }
  return iterate(objective, inputs, settings, options, performance.now());
}

/** The optimisation loop on a built objective (the caller disposes it). */
async function iterate(objective: StyleObjective, inputs: ObjectiveRunInputs, settings: RunSettings, options: RunOptions, setupStart: number): Promise<RunResult> {
  const resume = inputs.resume;
  const controller = options.controller ?? new RunController();
  const emit = options.onEvent ?? (() => {});
  const before = options.count?.before ?? 0;
  const total = options.count?.total ?? settings.iterations;
  const { width, height } = inputs.content;
  emit({ type: 'started', iteration: before + (resume?.iteration ?? 0), width, height, device: objective.device, fallbackReason: objective.fallbackReason, setupMs: performance.now() - setupStart });
  const image = resume
    ? Float32Array.from(resume.image)
    : inputs.startImage
      ? Float32Array.from(inputs.startImage)
      : initialImage(settings.init, inputs.content, inputs.styles, settings.seed);
  if (image.length !== 3 * width * height) {
    throw new NstError('BAD_ARGUMENT', `The start image holds ${image.length} values; a ${width}x${height} image needs ${3 * width * height}.`);
  }
  const common = { learningRate: settings.learningRate, bounds: { min: 0, max: 255 } };
  const optimizer =
    settings.optimizer === 'lbfgs'
      ? createOptimizer('lbfgs', image.length, { ...common, initialMaxChange: LBFGS_FIRST_STEP_LEVELS })
      : createOptimizer(settings.optimizer, image.length, common);
  if (resume) {
    if (resume.weights) objective.setWeights(resume.weights);
    optimizer.setState(resume.optimizer);
  }
  const reportEvery = Math.max(1, settings.reportEvery ?? 1);
  const imageEvery = settings.imageEvery ?? 0;

  // Breakdowns of this step's objective calls, so the event reports the one at the step's start point
  // (for L-BFGS that is often the previous step's last line-search call).
  const breakdowns: LossBreakdown[] = [];
  let carried: LossBreakdown | null = resume?.carried ?? null;
  // The optimizers see the objective scaled so that the first gradient has an RMS of 1 per pixel. Balanced
  // losses are O(1) but spread over 10⁵–10⁶ pixels, so raw gradients are ~1e-8: below L-BFGS's gradient
  // tolerance and far from its unit first step. One fixed factor keeps the problem the same problem.
  let scale = resume?.objectiveScale ?? 0;
  const evaluate = async (x: Float32Array, gradOut: Float32Array): Promise<number> => {
    const loss = await objective.evaluate(x, gradOut);
    breakdowns.push(loss);
    if (scale === 0) scale = unitRmsScale(gradOut);
    if (scale !== 1) for (let i = 0; i < gradOut.length; i++) gradOut[i]! *= scale;
    return loss.total * scale;
  };

  let initialLoss: LossBreakdown | null = resume?.initialLoss ?? null;
  let weightsChanged = resume?.weights != null;
  let done = resume?.iteration ?? 0;
  // The adaptive stop: its window (a resumed run's as it was) and the image before each step, in one buffer.
  const rule = settings.converge ?? null;
  const window = rule ? (resume?.convergence ? ConvergenceWindow.restore(rule, resume.convergence) : new ConvergenceWindow(rule)) : null;
  let passed = resume?.convergence?.passed ?? false;
  const previous = window && !passed ? Float32Array.from(image) : null;
  let stop: StopReason | null = null;
  // Converged, and paused there by the front end: a stop before the next iteration leaves it converged.
  let held: ConvergedStop | null = null;
  const stateBytes = 4 * (image.length + Object.values(optimizer.getState().buffers).reduce((n, b) => n + b.length, 0));
  const copies = stateBytes <= (options.checkpoint?.copyLimitBytes ?? Infinity);
  const snapshot = (): RunSnapshot => {
    const state = optimizer.getState();
    const buffers: Record<string, Float32Array> = {};
    for (const [key, buffer] of Object.entries(state.buffers)) buffers[key] = copies ? Float32Array.from(buffer) : buffer;
    return {
      iteration: done,
      image: copies ? Float32Array.from(image) : image,
      optimizer: { ...state, buffers, scalars: { ...state.scalars } },
      objectiveScale: scale,
      carried,
      initialLoss,
      weights: weightsChanged ? objective.currentWeights : null,
      convergence: window ? window.state(passed) : null,
    };
  };
  // A copied snapshot is written in the background; live buffers must not change until their write is done.
  const checkpoint = async (state: RunSnapshot, how?: { final?: boolean; force?: boolean }): Promise<void> => {
    const write = options.checkpoint!.save(state, how);
    if (!copies) await write;
  };
  // A mask edit is checked in full before it reaches the graph (setMasks feeds nothing when it throws): masks the
  // run cannot use are refused in the 'masks' event rather than failing a run that has been going for minutes.
  const takeMaskEdit = (edit: LossMasks, iteration: number): boolean => {
    let masks: LossMasks | null;
    try {
      masks = options.adaptMasks ? options.adaptMasks(edit) : edit;
      if (masks) objective.setMasks(masks);
    } catch (error) {
      if (!isNstError(error) && !(error instanceof RangeError)) throw error;
      emit({ type: 'masks', iteration, masks: edit, refused: error.message });
      return false;
    }
    emit({ type: 'masks', iteration, masks: edit, refused: null });
    return masks !== null;
  };
  for (let i = done; i < settings.iterations; i++) {
    if (controller.signal.aborted) break;
    if (controller.paused) {
      // A pause may last until the app is closed: the state at the pause is worth keeping.
      if (options.checkpoint && scale !== 0) await checkpoint(snapshot(), { force: true });
      emit({ type: 'paused', iteration: before + i });
      await controller.waitWhilePaused();
      if (controller.signal.aborted) break;
      emit({ type: 'resumed', iteration: before + i });
    }
    const weights = controller.takeWeights();
    if (weights) {
      objective.setWeights(weights);
      weightsChanged = true;
    }
    const edit = controller.takeMasks();
    const masks = edit !== null && takeMaskEdit(edit, before + i);
    if (weights || masks) {
      // Losses before and after measure different objectives.
      window?.reset();
      // Cached gradients and curvature pairs belong to the old objective.
      optimizer.objectiveChanged();
      carried = null;
    }
    const t0 = performance.now();
    breakdowns.length = 0;
    const step = await optimizer.step(image, evaluate);
    const loss = step.startEvaluation > 0 ? breakdowns[step.startEvaluation - 1]! : carried;
    carried = step.endEvaluation > 0 ? breakdowns[step.endEvaluation - 1]! : null;
    if (!loss) throw new NstError('RUNTIME_FAILURE', `The optimizer reported no loss for iteration ${i + 1}.`);
    if (!Number.isFinite(loss.total)) throw nonFiniteLoss(loss, i + 1, initialLoss === null);
    initialLoss ??= loss;
    done = i + 1;
    const verdict = window && previous && !passed && done < settings.iterations ? window.push(loss.total, meanAbsoluteChange(image, previous)) : null;
    const last = done === settings.iterations || step.converged || verdict !== null;
    if (done === 1 || done % reportEvery === 0 || last) {
      const attach = imageEvery > 0 && (done === 1 || done % imageEvery === 0 || last);
      emit({
        type: 'progress',
        iteration: before + done,
        iterations: total,
        stageIteration: done,
        stageIterations: settings.iterations,
        loss,
        ms: performance.now() - t0,
        ...(attach ? { image: { width, height, data: Float32Array.from(image) } } : {}),
      });
    }
    if (step.converged) {
      stop = { kind: 'optimizer', iteration: before + done };
      break;
    }
    if (verdict) {
      const converged: ConvergedStop = { kind: 'converged', iteration: before + done, window: rule!.window, ...verdict };
      emit({ type: 'converged', iteration: before + done, stop: converged });
      if (!controller.takeHold() || controller.signal.aborted) {
        stop = converged;
        break;
      }
      passed = true;
      held = converged;
    }
    if (options.checkpoint?.due() && done < settings.iterations) await checkpoint(snapshot());
  }
  if (!stop) {
    // A stop that comes after the last iteration finds the run finished: that is its cap, not a stop.
    if (!controller.signal.aborted || done === settings.iterations) stop = { kind: 'cap', iteration: before + done, cap: settings.iterations };
    else stop = held?.iteration === before + done ? held : { kind: 'stopped', iteration: before + done };
  }
  const scratch = new Float32Array(image.length);
  const finalLoss = await objective.evaluate(image, scratch);
  // Stopped before its first step, the run has no objective scale yet: the one that step would have taken (from the
  // gradient at the start image, just computed), so its checkpoint continues exactly as the run would have gone on.
  if (scale === 0) scale = unitRmsScale(scratch);
  // A stopped run leaves its state behind, even before its first step, so it can be continued later (the caller
  // decides whether to keep it).
  if (stop.kind === 'stopped' && options.checkpoint && done < settings.iterations) await checkpoint(snapshot(), { final: true });
  return {
    image: { width, height, data: image },
    iterations: done,
    initialLoss: initialLoss ?? finalLoss,
    finalLoss,
    stopped: stop.kind === 'stopped',
    stop,
    device: objective.device,
  };
}
