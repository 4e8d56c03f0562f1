// The seed's optimizer: a fixed-length step along the L2-normalised negative gradient, x -= learningRate · g / (‖g‖₂ + eps).

import {
  checkBounds,
  requireInteger,
  requirePositive,
  requireSize,
  requireStateName,
  restoreBuffers,
  type Bounds,
  type Objective,
  type Optimizer,
  type OptimizerState,
  type StepResult,
} from './types.js';

export interface GdOptions {
  /**
   * Length of every step in L2 over the whole array. Default 100: the seed's `eta`, on the 0–255 pixel
   * scale (the gradient is normalised, so the loss scale does not matter, but the image size does:
   * 100 spread over 3·256·256 values is ~0.2 per value).
   */
  learningRate?: number;
  /** Added to ‖g‖₂ so a vanishing gradient gives a vanishing step. Default 1e-7, Keras' K.epsilon() as in the seed. */
  eps?: number;
  bounds?: Bounds;
}

export const GD_DEFAULTS = { learningRate: 100, eps: 1e-7 } as const;

export class GradientDescent implements Optimizer {
  readonly name = 'gd' as const;
  readonly size: number;
  private readonly learningRate: number;
  private readonly eps: number;
  private readonly bounds: Bounds | undefined;
  private readonly gradient: Float32Array;
  private completedSteps = 0;

  constructor(size: number, options: GdOptions = {}) {
    this.size = requireInteger('size', size, 1, Number.MAX_SAFE_INTEGER);
    this.learningRate = requirePositive('learningRate', options.learningRate ?? GD_DEFAULTS.learningRate);
    this.eps = requirePositive('eps', options.eps ?? GD_DEFAULTS.eps);
    this.bounds = checkBounds(options.bounds);
    this.gradient = new Float32Array(size);
  }

  get iteration(): number {
    return this.completedSteps;
  }

  async step(x: Float32Array, objective: Objective): Promise<StepResult> {
    requireSize(this.name, this.size, x);
    const g = this.gradient;
    const loss = await objective(x, g);
    this.completedSteps++;

    // The norm counts only components that can move: a pixel pinned at a bound by its own gradient would
    // otherwise shrink every other pixel's step.
    const min = this.bounds?.min ?? -Infinity;
    const max = this.bounds?.max ?? Infinity;
    let sumSquares = 0;
    for (let i = 0; i < g.length; i++) {
      const gi = g[i]!;
      const xi = x[i]!;
      if ((xi <= min && gi > 0) || (xi >= max && gi < 0)) continue;
      sumSquares += gi * gi;
    }
    // A non-finite loss or gradient would poison x for good: leave x as it is and report it.
    if (!Number.isFinite(loss) || !Number.isFinite(sumSquares)) {
      return { loss: Number.NaN, evaluations: 1, converged: false, startEvaluation: 1, endEvaluation: 1 };
    }
    if (sumSquares === 0) return { loss, evaluations: 1, converged: true, startEvaluation: 1, endEvaluation: 1 };

    const scale = this.learningRate / (Math.sqrt(sumSquares) + this.eps);
    for (let i = 0; i < x.length; i++) {
      const v = x[i]! - scale * g[i]!;
      x[i] = v < min ? min : v > max ? max : v;
    }
    return { loss, evaluations: 1, converged: false, startEvaluation: 1, endEvaluation: 0 };
  }

  objectiveChanged(): void {
    // Nothing cached about the objective: every step evaluates afresh.
  }

  getState(): OptimizerState {
    // The gradient is scratch (recomputed every step) but is listed so callers can see it is one reused array.
    return { name: this.name, iteration: this.completedSteps, buffers: { gradient: this.gradient }, scalars: {} };
  }

  setState(state: OptimizerState): void {
    requireStateName(this.name, state);
    restoreBuffers(this.name, state, {});
    this.completedSteps = state.iteration;
  }
}
