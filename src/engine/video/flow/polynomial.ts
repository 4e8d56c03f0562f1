// Farnebäck's polynomial expansion: around every pixel, the quadratic f(x) ≈ xᵀAx + bᵀx + c that best fits the
// plane in a Gaussian-weighted neighbourhood (weighted least squares, solved once for all pixels as correlations).

import type { Plane } from './field.js';
import { gaussianTaps } from './pyramid.js';

/** Per pixel: b = (bx, by) and the symmetric A = [[axx, axy], [axy, ayy]] (axy is half the xy coefficient). */
export interface PolynomialField {
  readonly width: number;
  readonly height: number;
  readonly bx: Float32Array;
  readonly by: Float32Array;
  readonly axx: Float32Array;
  readonly ayy: Float32Array;
  readonly axy: Float32Array;
}

/**
 * The expansion with applicability g(x) g(y), g a Gaussian of `sigma` px (radius ceil(3 sigma)), borders replicated.
 * With the basis {1, x, y, x², y², xy} the normal equations' matrix G couples only {1, x², y²}; the others are
 * diagonal, so each coefficient is a fixed combination of six separable correlations of the plane.
 */
export function expandPolynomials(plane: Plane, sigma: number): PolynomialField {
  const { width, height, data } = plane;
  const g = gaussianTaps(sigma);
  const radius = g.length - 1;
  // Moments of the normalised 1-D applicability: s2 = Σ x² g, s4 = Σ x⁴ g (s0 = 1).
  let s2 = 0;
  let s4 = 0;
  for (let k = 1; k <= radius; k++) {
    s2 += 2 * k * k * g[k]!;
    s4 += 2 * k * k * k * k * g[k]!;
  }
  // G's block over (1, x², y²): [[1, s2, s2], [s2, s4, s2²], [s2, s2², s4]]; rows 1 and 2 of its inverse give axx, ayy.
  const inv = invert3([1, s2, s2, s2, s4, s2 * s2, s2, s2 * s2, s4]);
  const n = width * height;
  // Vertical pass: for every pixel Σ_k g(k) f, Σ_k k g(k) f, Σ_k k² g(k) f over the column (k the y offset).
  const v0 = new Float32Array(n);
  const v1 = new Float32Array(n);
  const v2 = new Float32Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let a0 = g[0]! * data[y * width + x]!;
      let a1 = 0;
      let a2 = 0;
      for (let k = 1; k <= radius; k++) {
        const up = data[(y - k < 0 ? 0 : y - k) * width + x]!;
        const down = data[(y + k >= height ? height - 1 : y + k) * width + x]!;
        a0 += g[k]! * (up + down);
        a1 += k * g[k]! * (down - up);
        a2 += k * k * g[k]! * (up + down);
      }
      v0[y * width + x] = a0;
      v1[y * width + x] = a1;
      v2[y * width + x] = a2;
    }
  }
  const out: PolynomialField = {
    width,
    height,
    bx: new Float32Array(n),
    by: new Float32Array(n),
    axx: new Float32Array(n),
    ayy: new Float32Array(n),
    axy: new Float32Array(n),
  };
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      // r1 = <f, g>, rx = <f, x g>, rxx = <f, x² g>, ry = <f, y g>, rxy = <f, xy g>, ryy = <f, y² g>.
      let r1 = g[0]! * v0[row + x]!;
      let rx = 0;
      let rxx = 0;
      let ry = g[0]! * v1[row + x]!;
      let rxy = 0;
      let ryy = g[0]! * v2[row + x]!;
      for (let k = 1; k <= radius; k++) {
        const l = row + (x - k < 0 ? 0 : x - k);
        const r = row + (x + k >= width ? width - 1 : x + k);
        const gk = g[k]!;
        r1 += gk * (v0[l]! + v0[r]!);
        rx += k * gk * (v0[r]! - v0[l]!);
        rxx += k * k * gk * (v0[l]! + v0[r]!);
        ry += gk * (v1[l]! + v1[r]!);
        rxy += k * gk * (v1[r]! - v1[l]!);
        ryy += gk * (v2[l]! + v2[r]!);
      }
      const i = row + x;
      out.bx[i] = rx / s2; // G's x and y entries are s2 (times s0 = 1)
      out.by[i] = ry / s2;
      out.axx[i] = inv[3]! * r1 + inv[4]! * rxx + inv[5]! * ryy;
      out.ayy[i] = inv[6]! * r1 + inv[7]! * rxx + inv[8]! * ryy;
      out.axy[i] = rxy / (s2 * s2) / 2; // G's xy entry is s2²; A holds half the xy coefficient
    }
  }
  return out;
}

/** The inverse of a 3x3 matrix, row-major (adjugate over determinant; G here is well conditioned). */
function invert3(m: readonly number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}
