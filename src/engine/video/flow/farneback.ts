// Dense optical flow between two frames: Farnebäck's polynomial-expansion method, coarse to fine over a pyramid.
//
// Why Farnebäck (rather than DIS, or OpenCV.js): it is dense by construction (no patch grid to densify and no
// variational stage to tune), a few hundred lines of arithmetic (about 50 ms a frame pair at 160x120, 0.4 s at
// 512x384, one core), and accurate to a hundredth of a pixel on a pan and a seventh on a zoom (docs/video.md). OpenCV.js was measured and
// not taken: its npm build (@techstark/opencv-js 4.5.2) has Farnebäck but not DIS, is a 7.7 MB script that takes
// ~1.8 s to load, and would be bundled into the CLI and the app for one function. Reference: G. Farnebäck,
// "Two-Frame Motion Estimation Based on Polynomial Expansion", SCIA 2003.

import type { PlanarImage } from '../../io/image.js';
import { NstError } from '../../errors.js';
import { type FlowField, type Plane, sampleBilinear, zeroFlow } from './field.js';
import { expandPolynomials, type PolynomialField } from './polynomial.js';
import { boxBlurInto, buildPyramid, luma, resizeFlow } from './pyramid.js';

export interface FlowOptions {
  /** Applicability of the polynomial expansion, px (default 1.5: radius 5). */
  polySigma?: number;
  /**
   * The window over which each pixel's displacement is fitted, px (default 3; three box passes, close to a Gaussian
   * of this sigma). Larger: smoother and more robust, blurrier at motion boundaries.
   */
  windowSigma?: number;
  /** Refinements per pyramid level (default 4). */
  iterations?: number;
  /** The coarsest level's shorter side is at least this (default 16 px); fewer levels when maxLevels says so. */
  minSidePx?: number;
  /** At most this many levels (default 6; each level doubles the largest displacement found). */
  maxLevels?: number;
  /**
   * Pull toward the prior (the flow of a twice-as-wide window, weighted by structure), relative to the frame's mean
   * structure strength (default 0.05; 0: none): where the window has no texture (sky, a flat wall) the flow is
   * its textured surroundings' rather than noise or 0.
   */
  regularization?: number;
}

const DEFAULTS: Required<FlowOptions> = { polySigma: 1.5, windowSigma: 3, iterations: 4, minSidePx: 16, maxLevels: 6, regularization: 0.05 };

/**
 * The flow from `from` to `to`: for each pixel p of `from`, where its content is in `to` (p + flow(p)). Both frames
 * must have one size. Errors: BAD_ARGUMENT (sizes differ, an option not positive, or a count not whole).
 */
export function estimateFlow(from: PlanarImage, to: PlanarImage, options: FlowOptions = {}): FlowField {
  if (from.width !== to.width || from.height !== to.height) {
    throw new NstError('BAD_ARGUMENT', `Optical flow needs two frames of one size, got ${from.width}x${from.height} and ${to.width}x${to.height}.`);
  }
  const settings = { ...DEFAULTS, ...options };
  for (const [name, value] of Object.entries(settings)) {
    if (!(value > 0) && !(name === 'regularization' && value === 0)) throw new NstError('BAD_ARGUMENT', `Optical flow option ${name} must be positive, got ${value}.`);
    if ((name === 'iterations' || name === 'maxLevels') && !Number.isInteger(value)) throw new NstError('BAD_ARGUMENT', `Optical flow option ${name} must be a whole number, got ${value}.`);
  }
  const pyramidFrom = buildPyramid(luma(from), settings.minSidePx, settings.maxLevels);
  const pyramidTo = buildPyramid(luma(to), settings.minSidePx, settings.maxLevels);
  const coarsest = pyramidFrom[pyramidFrom.length - 1]!;
  let flow = zeroFlow(coarsest.width, coarsest.height);
  for (let level = pyramidFrom.length - 1; level >= 0; level--) {
    const a = pyramidFrom[level]!;
    if (flow.width !== a.width || flow.height !== a.height) flow = resizeFlow(flow, a.width, a.height);
    const polyFrom = expandPolynomials(a, settings.polySigma);
    const polyTo = expandPolynomials(pyramidTo[level]!, settings.polySigma);
    const refiner = new Refiner(a, settings);
    for (let i = 0; i < settings.iterations; i++) refiner.refine(polyFrom, polyTo, flow);
  }
  return flow;
}

/** One level's update: the per-pixel normal equations, averaged over the window, solved for a new displacement. */
class Refiner {
  private readonly m: Float32Array[];
  private readonly blurred: Float32Array[];
  private readonly wide: Float32Array[];
  private readonly scratch: Float32Array;
  private readonly edgeRamp: number;

  constructor(
    private readonly plane: Plane,
    private readonly settings: Required<FlowOptions>,
  ) {
    const n = plane.width * plane.height;
    this.m = Array.from({ length: 5 }, () => new Float32Array(n));
    this.blurred = Array.from({ length: 5 }, () => new Float32Array(n));
    this.wide = Array.from({ length: 5 }, () => new Float32Array(n));
    this.scratch = new Float32Array(n);
    // The expansion near an edge fits replicated pixels: edgeWeight gives them no say, then ramps up to 1.
    this.edgeRamp = Math.ceil(3 * settings.polySigma);
  }

  /** Updates `flow` in place. */
  refine(from: PolynomialField, to: PolynomialField, flow: FlowField): void {
    const { width, height } = this.plane;
    const [g11, g12, g22, h1, h2] = this.m as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const du = flow.u[i]!;
        const dv = flow.v[i]!;
        const qx = x + du;
        const qy = y + dv;
        // A point that lands outside `to` says nothing about its motion: weight 0, its neighbours decide.
        const weight = this.edgeWeight(x, y) * this.edgeWeight(qx, qy);
        if (weight === 0) {
          g11[i] = g12[i] = g22[i] = h1[i] = h2[i] = 0;
          continue;
        }
        const axx = (from.axx[i]! + sampleBilinear(to.axx, width, height, qx, qy)) / 2;
        const ayy = (from.ayy[i]! + sampleBilinear(to.ayy, width, height, qx, qy)) / 2;
        const axy = (from.axy[i]! + sampleBilinear(to.axy, width, height, qx, qy)) / 2;
        // A d = -(b_to(p + d̃) - b_from(p)) / 2 + A d̃ (the expansion of `to` is `from`'s moved by d).
        const bx = -(sampleBilinear(to.bx, width, height, qx, qy) - from.bx[i]!) / 2 + axx * du + axy * dv;
        const by = -(sampleBilinear(to.by, width, height, qx, qy) - from.by[i]!) / 2 + axy * du + ayy * dv;
        // Least squares over the window: Σ AᵀA d = Σ Aᵀ Δb (A symmetric).
        g11[i] = weight * (axx * axx + axy * axy);
        g12[i] = weight * axy * (axx + ayy);
        g22[i] = weight * (ayy * ayy + axy * axy);
        h1[i] = weight * (axx * bx + axy * by);
        h2[i] = weight * (axy * bx + ayy * by);
      }
    }
    for (let c = 0; c < 5; c++) boxBlurInto(this.m[c]!, width, height, this.settings.windowSigma, this.blurred[c]!, this.scratch);
    const [sg11, sg12, sg22, sh1, sh2] = this.blurred as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    const [priorU, priorV] = this.prior(flow, sg11, sg12, sg22);
    let trace = 0;
    for (let i = 0; i < sg11.length; i++) trace += sg11[i]! + sg22[i]!;
    // Tikhonov pull toward the prior: (G + λI) d = h + λ d_prior, λ tied to the frame's own structure strength, so
    // it decides only where the window has little texture.
    const lambda = (this.settings.regularization * trace) / (2 * sg11.length) + 1e-9;
    for (let i = 0; i < sg11.length; i++) {
      const a = sg11[i]! + lambda;
      const b = sg12[i]!;
      const d = sg22[i]! + lambda;
      const r1 = sh1[i]! + lambda * priorU[i]!;
      const r2 = sh2[i]! + lambda * priorV[i]!;
      const det = a * d - b * b;
      flow.u[i] = (d * r1 - b * r2) / det;
      flow.v[i] = (a * r2 - b * r1) / det;
    }
  }

  /**
   * The flow averaged over a wider window, each pixel weighted by its structure tensor G (normalised convolution in
   * information form: (Σ G)⁻¹ Σ G d). Where a window has no texture (sky, a flat wall) its motion cannot be
   * measured and the textured surroundings' is the best guess; along a lone edge only the motion across it is
   * known, and G weights just that component. Iterated over the levels, it reaches well into flat regions.
   */
  private prior(flow: FlowField, g11: Float32Array, g12: Float32Array, g22: Float32Array): [Float32Array, Float32Array] {
    const { width, height } = this.plane;
    const [w11, w12, w22, wu, wv] = this.m as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    for (let i = 0; i < w11.length; i++) {
      w11[i] = g11[i]!;
      w12[i] = g12[i]!;
      w22[i] = g22[i]!;
      wu[i] = g11[i]! * flow.u[i]! + g12[i]! * flow.v[i]!;
      wv[i] = g12[i]! * flow.u[i]! + g22[i]! * flow.v[i]!;
    }
    for (let c = 0; c < 5; c++) boxBlurInto(this.m[c]!, width, height, 2 * this.settings.windowSigma, this.wide[c]!, this.scratch);
    const [s11, s12, s22, su, sv] = this.wide as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    // A tiny pull to the current flow keeps the solve defined where no structure is in reach at all.
    let trace = 0;
    for (let i = 0; i < s11.length; i++) trace += s11[i]! + s22[i]!;
    const epsilon = (1e-3 * trace) / (2 * s11.length) + 1e-9;
    const priorU = w11;
    const priorV = w12;
    for (let i = 0; i < s11.length; i++) {
      const a = s11[i]! + epsilon;
      const b = s12[i]!;
      const d = s22[i]! + epsilon;
      const r1 = su[i]! + epsilon * flow.u[i]!;
      const r2 = sv[i]! + epsilon * flow.v[i]!;
      const det = a * d - b * b;
      priorU[i] = (d * r1 - b * r2) / det;
      priorV[i] = (a * r2 - b * r1) / det;
    }
    return [priorU, priorV];
  }

  /**
   * 1 inside, 0 within half the expansion's radius of an edge and outside the frame, a ramp between: replicated
   * border pixels are structure that does not move with the scene, and in a flat region (sky) they would be all
   * the flow sees.
   */
  private edgeWeight(x: number, y: number): number {
    const { width, height } = this.plane;
    const half = this.edgeRamp / 2;
    const wx = Math.min(1, (x + 0.5 - half) / half, (width - 0.5 - x - half) / half);
    const wy = Math.min(1, (y + 0.5 - half) / half, (height - 0.5 - y - half) / half);
    return wx <= 0 || wy <= 0 ? 0 : wx * wy;
  }
}
