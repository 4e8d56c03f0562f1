// L-BFGS (two-loop recursion) with a strong-Wolfe line search or torch's fixed step, all memory allocated up front.
// One job, so one file though over 450 lines: the line search works in the optimizer's own preallocated buffers and
// feeds its curvature history, so the two do not part cleanly.

import { NstError } from '../errors.js';
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

/**
 * 'strong-wolfe': torch.optim.LBFGS's line search (minFunc's, cubic interpolation and zoom), the robust choice.
 * 'none': one evaluation per iteration at x + learningRate·d, accepted whatever the loss, as jcjohnson/neural-style
 * runs torch's L-BFGS; cheaper, but it trusts the quasi-Newton step.
 */
export type LineSearch = 'strong-wolfe' | 'none';

export interface LbfgsOptions {
  /**
   * Trial step length along the quasi-Newton direction. Default 1: the direction is already scaled by the
   * curvature pairs. While the history is empty (first step, after a reset) it is scaled by
   * min(1, 1/‖g‖₁) as torch does, since −g alone has the loss's units, not the pixels'.
   */
  learningRate?: number;
  /**
   * While the history is empty, choose the trial step so the largest component moves by this much, instead
   * of torch's min(1, 1/‖g‖₁) rule. For images (10⁵–10⁶ pixels) torch's rule moves pixels by ~10⁻⁵ levels
   * and the line search then spends most of its budget extrapolating. Unset by default (torch's rule).
   */
  initialMaxChange?: number;
  /** Curvature pairs kept (m). Default 20; memory is 2·m·size floats. */
  historySize?: number;
  /** Default 'strong-wolfe'. */
  lineSearch?: LineSearch;
  /** Objective evaluations one line search may spend. Default 25 (torch's max_ls). */
  maxLineSearchEvaluations?: number;
  /** The step reports convergence when the largest movable gradient component is at most this. Default 1e-7 (torch's tolerance_grad). */
  gradientTolerance?: number;
  bounds?: Bounds;
}

export const LBFGS_DEFAULTS = {
  learningRate: 1,
  historySize: 20,
  lineSearch: 'strong-wolfe',
  maxLineSearchEvaluations: 25,
  gradientTolerance: 1e-7,
} as const;

/** Sufficient decrease (Armijo) and curvature constants of the strong Wolfe conditions, as in torch and minFunc. */
const WOLFE_C1 = 1e-4;
const WOLFE_C2 = 0.9;
/** The zoom gives up when the bracket is narrower than this along the largest direction component. */
const STEP_TOLERANCE = 1e-9;
/**
 * A pair is kept only when s·y > CURVATURE_EPS·‖s‖‖y‖: the inverse-Hessian update needs s·y > 0, and clamping or
 * float32 noise can make it vanish. Scale-free (a cosine) so it means the same for any loss scale.
 */
const CURVATURE_EPS = 1e-10;

/**
 * Limited-memory BFGS over the caller's array. Each step reuses the loss and gradient the previous line search
 * left at the current point, so a step usually costs one or two objective calls.
 *
 * Bounds are handled by projection, not by L-BFGS-B's machinery: direction components that would push a value
 * already at a bound further out are zeroed, every trial point is clamped (the search runs along the bent,
 * projected path and measures its slope there), and the pair stored is the step actually taken. Clamping
 * makes that pair describe the curvature only approximately; pairs whose s·y is not clearly positive are
 * skipped, and an uphill direction drops the history. For images held in 0..255 this is plenty: few pixels
 * sit at a bound, and those barely move.
 */
export class Lbfgs implements Optimizer {
  readonly name = 'lbfgs' as const;
  readonly size: number;
  readonly historySize: number;
  private readonly learningRate: number;
  private readonly lineSearch: LineSearch;
  private readonly maxLineSearchEvaluations: number;
  private readonly gradientTolerance: number;
  private readonly initialMaxChange: number | undefined;
  private readonly bounds: Bounds | undefined;

  // Curvature pairs: slot k of the ring is s[k·n, (k+1)·n), likewise y. Views made once, here.
  private readonly sHistory: Float32Array;
  private readonly yHistory: Float32Array;
  private readonly sSlots: Float32Array[];
  private readonly ySlots: Float32Array[];
  /** s·y per slot (1/ρ); kept in float64 and recomputed from s and y on setState, so it needs no state of its own. */
  private readonly curvature: Float64Array;
  private readonly alpha: Float64Array;
  /** Pairs in use, and the ring slot of the newest. */
  private historyCount = 0;
  private newestSlot = -1;
  /** γ = s·y / y·y of the newest pair: the initial inverse-Hessian scale. */
  private initialScale = 1;

  /** The gradient at `anchor`, and the point itself: the x this optimizer last evaluated and left. */
  private readonly gradient: Float32Array;
  private readonly anchor: Float32Array;
  private anchorLoss = 0;
  private hasEvaluation = false;
  /**
   * lineSearch 'none' only: shrinks the trial step tenfold after each trial that hit a NaN loss (so the next
   * try is not the same doomed step), and doubles it back towards 1 after each finite one.
   */
  private trialScale = 1;
  private readonly direction: Float32Array;
  /** Gradients at line-search trial points: two bracket ends and one scratch are live at a time. */
  private readonly trialGradients: [Float32Array, Float32Array, Float32Array];
  private completedSteps = 0;

  constructor(size: number, options: LbfgsOptions = {}) {
    this.size = requireInteger('size', size, 1, Number.MAX_SAFE_INTEGER);
    this.historySize = requireInteger('historySize', options.historySize ?? LBFGS_DEFAULTS.historySize, 1, 1000);
    this.learningRate = requirePositive('learningRate', options.learningRate ?? LBFGS_DEFAULTS.learningRate);
    const lineSearch = options.lineSearch ?? LBFGS_DEFAULTS.lineSearch;
    if (lineSearch !== 'strong-wolfe' && lineSearch !== 'none') {
      throw new NstError('BAD_ARGUMENT', `lineSearch must be 'strong-wolfe' or 'none', got ${String(lineSearch)}.`);
    }
    this.lineSearch = lineSearch;
    this.maxLineSearchEvaluations = requireInteger(
      'maxLineSearchEvaluations',
      options.maxLineSearchEvaluations ?? LBFGS_DEFAULTS.maxLineSearchEvaluations,
      1,
      1000,
    );
    const tolerance = options.gradientTolerance ?? LBFGS_DEFAULTS.gradientTolerance;
    if (!Number.isFinite(tolerance) || tolerance < 0) {
      throw new NstError('BAD_ARGUMENT', `gradientTolerance must be a finite number of at least 0, got ${String(tolerance)}.`);
    }
    this.gradientTolerance = tolerance;
    this.initialMaxChange =
      options.initialMaxChange === undefined ? undefined : requirePositive('initialMaxChange', options.initialMaxChange);
    this.bounds = checkBounds(options.bounds);

    const m = this.historySize;
    try {
      this.sHistory = new Float32Array(m * size);
      this.yHistory = new Float32Array(m * size);
    } catch (error) {
      const gigabytes = ((2 * m * size * 4) / 2 ** 30).toFixed(1);
      throw new NstError(
        'BAD_ARGUMENT',
        `L-BFGS with historySize ${m} needs ${gigabytes} GiB for ${size} values: lower historySize or the image size.`,
        { cause: error },
      );
    }
    this.sSlots = [];
    this.ySlots = [];
    for (let k = 0; k < m; k++) {
      this.sSlots.push(this.sHistory.subarray(k * size, (k + 1) * size));
      this.ySlots.push(this.yHistory.subarray(k * size, (k + 1) * size));
    }
    this.curvature = new Float64Array(m);
    this.alpha = new Float64Array(m);
    this.gradient = new Float32Array(size);
    this.anchor = new Float32Array(size);
    this.direction = new Float32Array(size);
    this.trialGradients = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
  }

  get iteration(): number {
    return this.completedSteps;
  }

  /** Forgets the curvature pairs; the next step starts from steepest descent again. */
  resetHistory(): void {
    this.historyCount = 0;
    this.newestSlot = -1;
    this.initialScale = 1;
  }

  async step(x: Float32Array, objective: Objective): Promise<StepResult> {
    requireSize(this.name, this.size, x);
    const result = await this.iterate(x, objective);
    this.completedSteps++;
    return result;
  }

  private async iterate(x: Float32Array, objective: Objective): Promise<StepResult> {
    let evaluations = 0;
    let startEvaluation = 0;
    // x is back at (or never left) the start point: the call that evaluated it, if it was one of this step's.
    const stayed = (loss: number, converged: boolean): StepResult => ({
      loss,
      evaluations,
      converged,
      startEvaluation,
      endEvaluation: startEvaluation,
    });

    // The loss and gradient at x are normally left over from the previous line search; re-evaluate only when
    // there is none, or when the caller moved x since (then the old pairs describe another place, too).
    if (!this.hasEvaluation || !sameValues(x, this.anchor)) {
      if (this.hasEvaluation) this.resetHistory();
      this.anchorLoss = await objective(x, this.gradient);
      evaluations++;
      startEvaluation = evaluations;
      this.anchor.set(x);
      this.hasEvaluation = Number.isFinite(this.anchorLoss);
      if (!this.hasEvaluation) return stayed(Number.NaN, false);
    }
    const startLoss = this.anchorLoss;

    const largestGradient = this.largestMovableGradient();
    if (!Number.isFinite(largestGradient)) {
      // A finite loss with a NaN or infinite gradient: nothing safe to step along. Re-evaluate next time.
      this.hasEvaluation = false;
      return stayed(Number.NaN, false);
    }
    if (largestGradient <= this.gradientTolerance) return stayed(startLoss, true);
    let slope = this.computeDirection();
    if (!(slope < 0) && this.historyCount > 0) {
      // The pairs produced an uphill (or NaN) direction: drop them and fall back to steepest descent.
      this.resetHistory();
      slope = this.computeDirection();
    }
    if (!(slope < 0)) return stayed(startLoss, true);

    const firstStepScale = this.historyCount > 0 ? 1 : this.initialMaxChange !== undefined ? this.initialMaxChange / (this.learningRate * this.largestMovableGradient()) : Math.min(1, 1 / this.gradientL1Norm());
    const initialStep = firstStepScale * this.learningRate * this.trialScale;

    if (this.lineSearch === 'none') {
      const trialGradient = this.trialGradients[0];
      this.placeTrial(x, initialStep);
      const loss = await objective(x, trialGradient);
      evaluations++;
      if (!Number.isFinite(loss)) {
        // Overshot into a NaN region: go back, forget the pairs, and retry next step with a small gradient step.
        x.set(this.anchor);
        this.resetHistory();
        this.trialScale *= 0.1;
        return stayed(startLoss, false);
      }
      this.trialScale = Math.min(1, this.trialScale * 2);
      this.accept(x, trialGradient, loss);
      return { loss: startLoss, evaluations, converged: false, startEvaluation, endEvaluation: evaluations };
    }

    const callsBefore = evaluations;
    const search = await this.strongWolfe(x, objective, initialStep, slope);
    evaluations += search.evaluations;
    const { best } = search;
    if (best.call === 0 || !(best.loss < startLoss)) {
      // No point along d did better than where we stood: undo, and let the next step try steepest descent.
      // With no history to blame, the direction already was steepest descent: nothing left to try.
      x.set(this.anchor);
      const stalled = this.historyCount === 0;
      this.resetHistory();
      return stayed(startLoss, stalled);
    }
    // x holds the last trial; the best one may be an earlier bracket end.
    if (best.call !== search.evaluations) this.placeTrial(x, best.step);
    this.accept(x, best.gradient, best.loss);
    return { loss: startLoss, evaluations, converged: false, startEvaluation, endEvaluation: callsBefore + best.call };
  }

  objectiveChanged(): void {
    this.hasEvaluation = false;
    this.resetHistory();
  }

  getState(): OptimizerState {
    return {
      name: this.name,
      iteration: this.completedSteps,
      buffers: { s: this.sHistory, y: this.yHistory, gradient: this.gradient, anchor: this.anchor },
      scalars: {
        historyCount: this.historyCount,
        newestSlot: this.newestSlot,
        anchorLoss: this.hasEvaluation ? this.anchorLoss : 0,
        hasEvaluation: this.hasEvaluation ? 1 : 0,
        trialScale: this.trialScale,
      },
    };
  }

  setState(state: OptimizerState): void {
    requireStateName(this.name, state);
    const m = this.historySize;
    const historyCount = requireInteger('state.scalars.historyCount', stateScalar(this.name, state, 'historyCount'), 0, m);
    const newestSlot = requireInteger(
      'state.scalars.newestSlot',
      stateScalar(this.name, state, 'newestSlot'),
      historyCount === 0 ? -1 : 0,
      historyCount === 0 ? -1 : m - 1,
    );
    const anchorLoss = stateScalar(this.name, state, 'anchorLoss');
    const hasEvaluation = stateScalar(this.name, state, 'hasEvaluation') === 1;
    const trialScale = requirePositive('state.scalars.trialScale', stateScalar(this.name, state, 'trialScale'));
    restoreBuffers(this.name, state, { s: this.sHistory, y: this.yHistory, gradient: this.gradient, anchor: this.anchor });
    this.completedSteps = state.iteration;
    this.historyCount = historyCount;
    this.newestSlot = newestSlot;
    this.anchorLoss = anchorLoss;
    this.hasEvaluation = hasEvaluation;
    this.trialScale = trialScale;
    // s·y and γ are functions of the stored pairs; recomputing them in the same order reproduces them exactly.
    this.initialScale = 1;
    for (let j = 0; j < historyCount; j++) {
      const slot = (newestSlot - j + m) % m;
      const { sy, yy } = pairProducts(this.sSlots[slot]!, this.ySlots[slot]!);
      this.curvature[slot] = sy;
      if (j === 0) this.initialScale = sy / yy;
    }
  }

  /** max |g_i| over components not pinned at a bound by their own gradient. */
  private largestMovableGradient(): number {
    const g = this.gradient;
    const x = this.anchor;
    const min = this.bounds?.min ?? -Infinity;
    const max = this.bounds?.max ?? Infinity;
    let largest = 0;
    for (let i = 0; i < g.length; i++) {
      const gi = g[i]!;
      if ((x[i]! <= min && gi > 0) || (x[i]! >= max && gi < 0)) continue;
      const magnitude = Math.abs(gi);
      // A NaN anywhere must not be mistaken for convergence (NaN compares false, so say it outright).
      if (Number.isNaN(magnitude)) return Number.NaN;
      if (magnitude > largest) largest = magnitude;
    }
    return largest;
  }

  private gradientL1Norm(): number {
    let sum = 0;
    for (let i = 0; i < this.gradient.length; i++) sum += Math.abs(this.gradient[i]!);
    return sum;
  }

  /**
   * Two-loop recursion: direction = −H·g with H built from the stored pairs (or γ·I, γ = 1, with none).
   * Components that would push a value already at a bound further out are zeroed, so the line search sees
   * the slope of the projected path. Returns that slope g·d (negative for a descent direction).
   */
  private computeDirection(): number {
    const d = this.direction;
    const g = this.gradient;
    const m = this.historySize;
    for (let i = 0; i < d.length; i++) d[i] = -g[i]!;
    for (let j = 0; j < this.historyCount; j++) {
      const slot = (this.newestSlot - j + m) % m;
      const a = dot(this.sSlots[slot]!, d) / this.curvature[slot]!;
      this.alpha[slot] = a;
      axpy(-a, this.ySlots[slot]!, d);
    }
    if (this.initialScale !== 1) for (let i = 0; i < d.length; i++) d[i] = d[i]! * this.initialScale;
    for (let j = this.historyCount - 1; j >= 0; j--) {
      const slot = (this.newestSlot - j + m) % m;
      const b = dot(this.ySlots[slot]!, d) / this.curvature[slot]!;
      axpy(this.alpha[slot]! - b, this.sSlots[slot]!, d);
    }
    if (this.bounds !== undefined) {
      const { min, max } = this.bounds;
      const x = this.anchor;
      for (let i = 0; i < d.length; i++) {
        if ((x[i]! <= min && d[i]! < 0) || (x[i]! >= max && d[i]! > 0)) d[i] = 0;
      }
    }
    return dot(g, d);
  }

  /** x = clamp(anchor + t·d): the trial point at step length t along the projected path. */
  private placeTrial(x: Float32Array, t: number): void {
    const a = this.anchor;
    const d = this.direction;
    const min = this.bounds?.min ?? -Infinity;
    const max = this.bounds?.max ?? Infinity;
    for (let i = 0; i < x.length; i++) {
      const v = a[i]! + t * d[i]!;
      x[i] = v < min ? min : v > max ? max : v;
    }
  }

  /**
   * Slope of the projected path at step t: g·d over the components still inside the bounds there
   * (a clamped component no longer moves with t, so it adds nothing).
   */
  private pathSlope(trialGradient: Float32Array, t: number): number {
    if (this.bounds === undefined) return dot(trialGradient, this.direction);
    const { min, max } = this.bounds;
    const a = this.anchor;
    const d = this.direction;
    let sum = 0;
    for (let i = 0; i < d.length; i++) {
      const v = a[i]! + t * d[i]!;
      if (v >= min && v <= max) sum += trialGradient[i]! * d[i]!;
    }
    return sum;
  }

  /**
   * Moves the anchor to the accepted point x and records the pair s = x − anchor (the step actually taken,
   * after clamping, which is why a pair can come out with s·y ≤ 0 and be skipped), y = g_new − g.
   */
  private accept(x: Float32Array, newGradient: Float32Array, newLoss: number): void {
    const a = this.anchor;
    const g = this.gradient;
    // First pass decides, without writing: when the ring is full the next slot holds the oldest live pair.
    let sy = 0;
    let ss = 0;
    let yy = 0;
    for (let i = 0; i < x.length; i++) {
      const si = Math.fround(x[i]! - a[i]!);
      const yi = Math.fround(newGradient[i]! - g[i]!);
      sy += si * yi;
      ss += si * si;
      yy += yi * yi;
    }
    if (sy > CURVATURE_EPS * Math.sqrt(ss * yy) && Number.isFinite(sy)) {
      const m = this.historySize;
      const slot = (this.newestSlot + 1) % m;
      const s = this.sSlots[slot]!;
      const y = this.ySlots[slot]!;
      for (let i = 0; i < x.length; i++) {
        s[i] = x[i]! - a[i]!;
        y[i] = newGradient[i]! - g[i]!;
      }
      this.curvature[slot] = sy;
      this.initialScale = sy / yy;
      this.newestSlot = slot;
      this.historyCount = Math.min(this.historyCount + 1, m);
    }
    g.set(newGradient);
    a.set(x);
    this.anchorLoss = newLoss;
  }

  /** A pool gradient buffer held by neither bracket end. */
  private scratchGradient(heldA: Float32Array, heldB: Float32Array): Float32Array {
    for (const buffer of this.trialGradients) if (buffer !== heldA && buffer !== heldB) return buffer;
    throw new Error('unreachable: three trial buffers, at most two held');
  }

  /**
   * Strong-Wolfe line search along the projected path, after torch.optim.lbfgs._strong_wolfe (itself minFunc's):
   * bracket a step satisfying the conditions, then zoom with safeguarded cubic interpolation. A non-finite
   * loss counts as +Infinity, so the search backs away from it (the interpolation then bisects).
   * Returns the lowest point found; `call === 0` means step 0, the start point (no progress).
   */
  private async strongWolfe(
    x: Float32Array,
    objective: Objective,
    initialStep: number,
    slope0: number,
  ): Promise<{ best: TrialPoint; evaluations: number }> {
    const start: TrialPoint = { step: 0, loss: this.anchorLoss, slope: slope0, gradient: this.gradient, call: 0 };
    const maxEvaluations = this.maxLineSearchEvaluations;
    let directionMax = 0;
    for (let i = 0; i < this.direction.length; i++) directionMax = Math.max(directionMax, Math.abs(this.direction[i]!));
    const armijoHolds = (p: TrialPoint): boolean => p.loss <= start.loss + WOLFE_C1 * p.step * slope0;
    const curvatureHolds = (p: TrialPoint): boolean => Math.abs(p.slope) <= -WOLFE_C2 * slope0;

    let evaluations = 0;
    const evaluate = async (t: number, gradient: Float32Array): Promise<TrialPoint> => {
      this.placeTrial(x, t);
      const raw = await objective(x, gradient);
      evaluations++;
      const finite = Number.isFinite(raw);
      return {
        step: t,
        loss: finite ? raw : Infinity,
        slope: finite ? this.pathSlope(gradient, t) : Number.NaN,
        gradient,
        call: evaluations,
      };
    };

    // Phase 1: grow the step until the conditions hold (done) or a minimum is bracketed by [a, b].
    let previous = start;
    let current = await evaluate(initialStep, this.trialGradients[0]);
    let bracket: [TrialPoint, TrialPoint] | undefined;
    let accepted: TrialPoint | undefined;
    while (evaluations < maxEvaluations) {
      if (!armijoHolds(current) || (previous.call > 0 && current.loss >= previous.loss)) {
        bracket = [previous, current];
        break;
      }
      if (curvatureHolds(current)) {
        accepted = current;
        break;
      }
      if (current.slope >= 0) {
        bracket = [previous, current];
        break;
      }
      // Still going down and steep: extrapolate, between a little past the current step and ten times it.
      const t = current.step;
      const next = cubicMinimum(previous.step, previous.loss, previous.slope, t, current.loss, current.slope, t + 0.01 * (t - previous.step), t * 10);
      previous = current;
      current = await evaluate(next, this.scratchGradient(previous.gradient, previous.gradient));
    }
    if (accepted !== undefined) return { best: accepted, evaluations };
    // Out of evaluations while still descending: settle for the lower of the start and the last point.
    bracket ??= [start, current];

    // Phase 2 (zoom): shrink the bracket around a point satisfying both conditions.
    let low: 0 | 1 = bracket[0].loss <= bracket[1].loss ? 0 : 1;
    let insufficientProgress = false;
    while (evaluations < maxEvaluations) {
      const [a, b] = bracket;
      if (Math.abs(b.step - a.step) * directionMax < STEP_TOLERANCE) break;
      const lo = Math.min(a.step, b.step);
      const hi = Math.max(a.step, b.step);
      let t = cubicMinimum(a.step, a.loss, a.slope, b.step, b.loss, b.slope, lo, hi);
      // Safeguard (minFunc): keep t at least 10% of the bracket away from its ends when progress stalls.
      const margin = 0.1 * (hi - lo);
      if (Math.min(hi - t, t - lo) < margin) {
        if (insufficientProgress || t >= hi || t <= lo) {
          t = Math.abs(t - hi) < Math.abs(t - lo) ? hi - margin : lo + margin;
          insufficientProgress = false;
        } else {
          insufficientProgress = true;
        }
      } else {
        insufficientProgress = false;
      }
      const trial = await evaluate(t, this.scratchGradient(a.gradient, b.gradient));
      const high: 0 | 1 = low === 0 ? 1 : 0;
      if (!armijoHolds(trial) || trial.loss >= bracket[low].loss) {
        bracket[high] = trial;
      } else {
        const done = curvatureHolds(trial);
        if (!done && trial.slope * (bracket[high].step - bracket[low].step) >= 0) {
          // The minimum lies between the trial and the old low end: that end becomes the high one.
          bracket[high] = bracket[low];
        }
        bracket[low] = trial;
        if (done) return { best: trial, evaluations };
      }
      low = bracket[0].loss <= bracket[1].loss ? 0 : 1;
    }
    return { best: bracket[low], evaluations };
  }
}

/** One point of a line search: its step length, loss, slope of the projected path, and where its gradient is. */
interface TrialPoint {
  readonly step: number;
  readonly loss: number;
  readonly slope: number;
  readonly gradient: Float32Array;
  /** Which call of the line search evaluated it (1-based); 0 for the start point. */
  readonly call: number;
}

/**
 * Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to [lo, hi]; the midpoint of [lo, hi]
 * when the cubic has no minimum or any input is not finite (as torch's _cubic_interpolate, plus the NaN guard).
 */
function cubicMinimum(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, lo: number, hi: number): number {
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const position =
      x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    if (Number.isFinite(position)) return Math.min(Math.max(position, lo), hi);
  }
  return (lo + hi) / 2;
}

/** Dot product accumulated in float64. */
function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** y += a·x */
function axpy(a: number, x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] = y[i]! + a * x[i]!;
}

function pairProducts(s: Float32Array, y: Float32Array): { sy: number; yy: number } {
  let sy = 0;
  let yy = 0;
  for (let i = 0; i < s.length; i++) {
    sy += s[i]! * y[i]!;
    yy += y[i]! * y[i]!;
  }
  return { sy, yy };
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
