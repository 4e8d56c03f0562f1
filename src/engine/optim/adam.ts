// Adam (Kingma & Ba 2015) with bias correction, over one Float32Array updated in place.

import {
  checkBounds,
  requireInteger,
  requirePositive,
  requireSize,
  requireStateName,
  restoreBuffers,
  stateScalar,
  type Bounds,
  type Objective,
  type Optimizer,
  type OptimizerState,
  type StepResult,
} from './types.js';
import { NstError } from '../errors.js';

export interface AdamOptions {
  /**
   * Step size per value, in pixel units. Default 10 on the 0–255 scale: jcjohnson/neural-style's default
   * `-learning_rate 1e1` for its Adam mode; Adam's first steps move each pixel by about learningRate regardless of the
   * loss scale, so 10 reshapes an image within tens of iterations without overshooting the range much.
   */
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  bounds?: Bounds;
}

export const ADAM_DEFAULTS = { learningRate: 10, beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

export class Adam implements Optimizer {
  readonly name = 'adam' as const;
  readonly size: number;
  private readonly learningRate: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly bounds: Bounds | undefined;
  private readonly gradient: Float32Array;
  /** First and second moment estimates. */
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private completedSteps = 0;
  /** Updates actually applied: drives the bias correction, so a step skipped for a NaN loss does not count. */
  private updates = 0;

  constructor(size: number, options: AdamOptions = {}) {
    this.size = requireInteger('size', size, 1, Number.MAX_SAFE_INTEGER);
    this.learningRate = requirePositive('learningRate', options.learningRate ?? ADAM_DEFAULTS.learningRate);
    this.beta1 = requireUnitInterval('beta1', options.beta1 ?? ADAM_DEFAULTS.beta1);
    this.beta2 = requireUnitInterval('beta2', options.beta2 ?? ADAM_DEFAULTS.beta2);
    this.eps = requirePositive('eps', options.eps ?? ADAM_DEFAULTS.eps);
    this.bounds = checkBounds(options.bounds);
    this.gradient = new Float32Array(size);
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  get iteration(): number {
    return this.completedSteps;
  }

  async step(x: Float32Array, objective: Objective): Promise<StepResult> {
    requireSize(this.name, this.size, x);
    const g = this.gradient;
    const loss = await objective(x, g);
    this.completedSteps++;

    // g·0 is NaN exactly for NaN and ±Infinity: one cheap pass keeps a bad gradient out of the moments.
    let poison = 0;
    for (let i = 0; i < g.length; i++) poison += g[i]! * 0;
    if (!Number.isFinite(loss) || Number.isNaN(poison)) {
      return { loss: Number.NaN, evaluations: 1, converged: false, startEvaluation: 1, endEvaluation: 1 };
    }

    this.updates++;
    const { beta1, beta2, eps, m, v } = this;
    const stepSize = this.learningRate / (1 - beta1 ** this.updates);
    const secondMomentCorrection = 1 / (1 - beta2 ** this.updates);
    const min = this.bounds?.min ?? -Infinity;
    const max = this.bounds?.max ?? Infinity;
    let moved = false;
    for (let i = 0; i < x.length; i++) {
      const gi = g[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      const old = x[i]!;
      const next = old - (stepSize * mi) / (Math.sqrt(vi * secondMomentCorrection) + eps);
      const clamped = next < min ? min : next > max ? max : next;
      x[i] = clamped;
      if (x[i] !== old) moved = true;
    }
    return { loss, evaluations: 1, converged: !moved, startEvaluation: 1, endEvaluation: moved ? 0 : 1 };
  }

  objectiveChanged(): void {
    // Nothing cached about the objective: every step evaluates afresh.
  }

  getState(): OptimizerState {
    return {
      name: this.name,
      iteration: this.completedSteps,
      buffers: { m: this.m, v: this.v },
      scalars: { updates: this.updates },
    };
  }

  setState(state: OptimizerState): void {
    requireStateName(this.name, state);
    const updates = stateScalar(this.name, state, 'updates');
    requireInteger('state.scalars.updates', updates, 0, Number.MAX_SAFE_INTEGER);
    restoreBuffers(this.name, state, { m: this.m, v: this.v });
    this.updates = updates;
    this.completedSteps = state.iteration;
  }
}

function requireUnitInterval(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value >= 1) {
    throw new NstError('BAD_ARGUMENT', `${name} must be a number from 0 up to (not including) 1, got ${String(value)}.`);
  }
  return value;
}
