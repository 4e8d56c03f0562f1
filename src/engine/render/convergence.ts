// When a run's picture is done: a window over the last iterations' loss and pixel change, and why a run stopped.

/**
 * The adaptive stop: a run ends when, over the last `window` iterations, the loss fell by less than `lossDecrease`
 * (a fraction of the loss at the window's start) AND the picture moved less than `pixelChange` levels of 255 (the
 * per-iteration mean absolute change of every pixel value, summed over the window). Both, because the loss alone
 * still falls by fractions of a percent while strokes move, and small steps alone happen while the loss plunges.
 */
export interface ConvergenceRule {
  readonly window: number;
  readonly lossDecrease: number;
  readonly pixelChange: number;
}

/**
 * The default rule (tolerance 1), chosen from 300-iteration traces of the shared photo × painting pairs at 256 and
 * 384 px: docs/performance.md, "Stopping when the picture is done".
 */
export const DEFAULT_CONVERGENCE: ConvergenceRule = { window: 20, lossDecrease: 0.01, pixelChange: 3.5 };

/** Tolerances users may ask for: × the default thresholds (2 stops sooner, 0.5 later). */
export const STOP_TOLERANCE_RANGE = { min: 0.05, max: 20 } as const;

/** The default rule with both thresholds scaled by `tolerance` (the window stays). */
export function convergenceRule(tolerance = 1): ConvergenceRule {
  if (!Number.isFinite(tolerance) || tolerance < STOP_TOLERANCE_RANGE.min || tolerance > STOP_TOLERANCE_RANGE.max) {
    throw new RangeError(`The stop tolerance must be a number from ${STOP_TOLERANCE_RANGE.min} to ${STOP_TOLERANCE_RANGE.max}, got ${tolerance}.`);
  }
  const d = DEFAULT_CONVERGENCE;
  return { window: d.window, lossDecrease: d.lossDecrease * tolerance, pixelChange: d.pixelChange * tolerance };
}

/** Why a run (or the stage that ended a render) stopped; `iteration` counts across the render, as events do. */
export type StopReason =
  /** The picture stopped changing: the window's loss decrease (a fraction) and summed pixel change (levels). */
  | { readonly kind: 'converged'; readonly iteration: number; readonly window: number; readonly lossDecrease: number; readonly pixelChange: number }
  /** It ran all its iterations (`cap`: the stage's own count, --iterations at the output size). */
  | { readonly kind: 'cap'; readonly iteration: number; readonly cap: number }
  /** The optimizer could not move the image any more (a vanished gradient, no descent direction). */
  | { readonly kind: 'optimizer'; readonly iteration: number }
  /** Stopped from outside (RunController.stop). */
  | { readonly kind: 'stopped'; readonly iteration: number };

export type ConvergedStop = Extract<StopReason, { kind: 'converged' }>;

/**
 * One clause: "converged at iteration 142: loss fell 0.62% and pixels moved 3.41 levels over the last 20 iterations"
 * (figures cut, not rounded, to two decimals: one just under its threshold never reads as the threshold).
 */
export function describeStop(stop: StopReason): string {
  switch (stop.kind) {
    case 'converged':
      return `converged at iteration ${stop.iteration}: loss fell ${cut(stop.lossDecrease * 100)}% and pixels moved ${cut(stop.pixelChange)} levels over the last ${stop.window} iterations`;
    case 'cap':
      return `reached the cap of ${stop.cap} iterations`;
    case 'optimizer':
      return `the optimizer stopped at iteration ${stop.iteration}: it could not lower the loss any further`;
    case 'stopped':
      return `stopped at iteration ${stop.iteration}`;
  }
}

function cut(value: number): string {
  return (Math.floor(value * 100 + 1e-9) / 100).toFixed(2);
}

/** A window between two iterations, oldest first: what a checkpoint keeps so a resumed run stops where it would have. */
export interface ConvergenceState {
  /** The last (up to window + 1) iterations' losses. */
  readonly losses: readonly number[];
  /** The last (up to window) iterations' pixel changes, in levels. */
  readonly changes: readonly number[];
  /** The run went on past its convergence (the studio's "keep going"): it runs to its cap. */
  readonly passed: boolean;
}

/**
 * The last `window` iterations, in two preallocated rings (the run loop pushes one loss and one pixel change per
 * iteration and allocates nothing). `push` answers the window's figures when the rule says the picture is done.
 */
export class ConvergenceWindow {
  private readonly losses: Float64Array;
  private readonly changes: Float64Array;
  /** Pushes since the last reset (the rings hold min(count, size) of them). */
  private count = 0;

  constructor(readonly rule: ConvergenceRule) {
    if (!Number.isInteger(rule.window) || rule.window < 1) throw new RangeError(`The convergence window must be a whole number ≥ 1, got ${rule.window}.`);
    this.losses = new Float64Array(rule.window + 1);
    this.changes = new Float64Array(rule.window);
  }

  /** An iteration's loss and its pixel change (meanAbsoluteChange); the verdict when the window is full and still. */
  push(loss: number, change: number): { lossDecrease: number; pixelChange: number } | null {
    const { window } = this.rule;
    this.losses[this.count % (window + 1)] = loss;
    this.changes[this.count % window] = change;
    this.count++;
    if (this.count < window + 1) return null;
    // The oldest loss in the ring is `window` iterations before this one.
    const first = this.losses[this.count % (window + 1)]!;
    const lossDecrease = (first - loss) / (Math.abs(first) || 1);
    // Summed oldest first, so a restored window (its ring turned otherwise) adds in the same order, to the same bit.
    let pixelChange = 0;
    for (let i = this.count - window; i < this.count; i++) pixelChange += this.changes[i % window]!;
    return lossDecrease < this.rule.lossDecrease && pixelChange < this.rule.pixelChange ? { lossDecrease, pixelChange } : null;
  }

  /** Forgets the window (the loss changed meaning: weights were set mid-run). */
  reset(): void {
    this.count = 0;
  }

  /** The window's contents, oldest first (copies). */
  state(passed: boolean): ConvergenceState {
    const { window } = this.rule;
    const losses: number[] = [];
    const changes: number[] = [];
    for (let i = Math.max(0, this.count - window - 1); i < this.count; i++) losses.push(this.losses[i % (window + 1)]!);
    for (let i = Math.max(0, this.count - window); i < this.count; i++) changes.push(this.changes[i % window]!);
    return { losses, changes, passed };
  }

  /** A window holding `state`'s iterations (the last ones that fit, if its window was longer). */
  static restore(rule: ConvergenceRule, state: ConvergenceState): ConvergenceWindow {
    const w = new ConvergenceWindow(rule);
    // Iterations pushed as pairs, oldest first; a loss without its change (the window's first) only fills the loss ring.
    const losses = state.losses.slice(-(rule.window + 1));
    const changes = state.changes.slice(-Math.min(rule.window, losses.length));
    const extra = losses.length - changes.length;
    for (let i = 0; i < losses.length; i++) {
      w.losses[w.count % (rule.window + 1)] = losses[i]!;
      if (i >= extra) w.changes[w.count % rule.window] = changes[i - extra]!;
      w.count++;
    }
    return w;
  }
}

/**
 * The mean absolute change of every value from `previous` to `current` (levels of 255), and `previous` becomes
 * `current`: one pass, no allocation.
 */
export function meanAbsoluteChange(current: Float32Array, previous: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < current.length; i++) {
    const value = current[i]!;
    sum += Math.abs(value - previous[i]!);
    previous[i] = value;
  }
  return current.length > 0 ? sum / current.length : 0;
}
