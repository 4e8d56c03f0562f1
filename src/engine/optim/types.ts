// The contract every pixel optimizer keeps: an objective that fills a gradient, one iteration per step(), state for checkpoints.

import { NstError } from '../errors.js';

export type OptimizerName = 'gd' | 'adam' | 'lbfgs';

/**
 * Evaluates the loss at `x` and writes d(loss)/dx into `gradOut` (same length as x); resolves to the loss.
 * Optimizers always pass the caller's image as `x` and one of their own preallocated buffers as `gradOut`,
 * so an objective may keep no reference to either between calls.
 */
export interface Objective {
  (x: Float32Array, gradOut: Float32Array): Promise<number>;
}

export interface StepResult {
  /**
   * The loss at the point x held when the step began (every optimizer reports this one, so a loss
   * series from any of them reads as f(x0), f(x1), ...). NaN when the objective returned a non-finite loss there.
   */
  readonly loss: number;
  /** How many times the objective ran during this step (L-BFGS line searches may run it several times). */
  readonly evaluations: number;
  /**
   * True when the step could not move x: the gradient vanished (or is zero inside the bounds), or L-BFGS found
   * no descent even along the plain negative gradient. Further steps will not change x either.
   */
  readonly converged: boolean;
  /**
   * Which call of this step (1-based) evaluated the start point, i.e. produced `loss`; 0 when that loss was
   * carried over from the previous step (L-BFGS already evaluated its start point in the last line search).
   * With endEvaluation, this lets a caller that keeps per-call details (a loss breakdown) report the right one.
   */
  readonly startEvaluation: number;
  /**
   * Which call of this step (1-based) was made at the point x holds after the step; 0 when no call of this
   * step was (GD and Adam move to a point they have not evaluated yet; L-BFGS may not have moved at all).
   */
  readonly endEvaluation: number;
}

/** Pixels are kept inside [min, max] by projecting (clamping) after every update. */
export interface Bounds {
  readonly min: number;
  readonly max: number;
}

/**
 * Everything needed to continue an optimisation exactly where it stopped. `buffers` are the optimizer's
 * LIVE arrays (no copy, so checkpointing costs no memory until written out): serialise or copy them before
 * the next step() if you need a snapshot. setState() copies values in and never keeps the given arrays.
 */
export interface OptimizerState {
  readonly name: OptimizerName;
  readonly iteration: number;
  readonly buffers: Record<string, Float32Array>;
  readonly scalars: Record<string, number>;
}

export interface Optimizer {
  readonly name: OptimizerName;
  /** Number of values in the optimised array (for an image: 3 · height · width). */
  readonly size: number;
  /** Completed steps. */
  readonly iteration: number;
  /**
   * One iteration: evaluates `objective` at `x` (the caller's array, `size` long) and updates `x` in place.
   * Allocates no per-pixel memory: every buffer was allocated when the optimizer was created.
   */
  step(x: Float32Array, objective: Objective): Promise<StepResult>;
  /**
   * Tells the optimizer the objective itself changed (loss weights edited mid-run): anything it cached about
   * the old one (L-BFGS: the loss and gradient at x, the curvature pairs) is dropped. Adam keeps its moments.
   */
  objectiveChanged(): void;
  getState(): OptimizerState;
  /** Restores a state from getState() of an optimizer of the same name and size (and, for L-BFGS, history). */
  setState(state: OptimizerState): void;
}

/** Throws BAD_ARGUMENT unless `value` is a finite number > 0. */
export function requirePositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new NstError('BAD_ARGUMENT', `${name} must be a finite number above 0, got ${String(value)}.`);
  }
  return value;
}

/** Throws BAD_ARGUMENT unless `value` is an integer within [min, max]. */
export function requireInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new NstError('BAD_ARGUMENT', `${name} must be a whole number from ${min} to ${max}, got ${String(value)}.`);
  }
  return value;
}

/** Validates optional bounds: both finite and min < max. */
export function checkBounds(bounds: Bounds | undefined): Bounds | undefined {
  if (bounds === undefined) return undefined;
  const { min, max } = bounds;
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(min < max)) {
    throw new NstError(
      'BAD_ARGUMENT',
      `bounds must be finite with min below max, got min ${String(min)} and max ${String(max)}.`,
    );
  }
  return { min, max };
}

/** Throws BAD_ARGUMENT unless `x` is exactly `size` long: an image of another size needs another optimizer. */
export function requireSize(name: OptimizerName, size: number, x: Float32Array): void {
  if (x.length !== size) {
    throw new NstError(
      'BAD_ARGUMENT',
      `The ${name} optimizer was created for ${size} values but step() got an array of ${x.length}.`,
    );
  }
}

/** Throws BAD_ARGUMENT unless the state comes from an optimizer of this kind with a sane iteration count. */
export function requireStateName(name: OptimizerName, state: OptimizerState): void {
  if (state.name !== name) {
    throw new NstError('BAD_ARGUMENT', `Cannot restore a ${state.name} optimizer state into a ${name} optimizer.`);
  }
  requireInteger('state.iteration', state.iteration, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Copies each named buffer of a state into `targets`, after checking them all: every target must be present
 * with the same length, so a checkpoint of another size fails loudly and leaves the optimizer untouched.
 */
export function restoreBuffers(
  name: OptimizerName,
  state: OptimizerState,
  targets: Record<string, Float32Array>,
): void {
  for (const [key, target] of Object.entries(targets)) {
    const source = state.buffers[key];
    if (source === undefined) {
      throw new NstError('BAD_ARGUMENT', `The ${name} optimizer state lacks its "${key}" buffer.`);
    }
    if (source.length !== target.length) {
      throw new NstError(
        'BAD_ARGUMENT',
        `The ${name} optimizer state's "${key}" buffer holds ${source.length} values; this optimizer needs ${target.length}.`,
      );
    }
  }
  for (const [key, target] of Object.entries(targets)) target.set(state.buffers[key]!);
}

/** Reads a required finite scalar from a state. */
export function stateScalar(name: OptimizerName, state: OptimizerState, key: string): number {
  const value = state.scalars[key];
  if (value === undefined || !Number.isFinite(value)) {
    throw new NstError('BAD_ARGUMENT', `The ${name} optimizer state lacks a finite "${key}" scalar.`);
  }
  return value;
}
