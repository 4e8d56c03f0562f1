// The checks the loss tests share: random images, vector arithmetic, losses against a reference (PyTorch's fixture or
// the float64 reference), a gradient against central finite differences, and the tiny random-weight VGG19 world the
// gradient tests run in.

import { expect } from 'vitest';
import type { PlanarImage } from '../../src/engine/io/image.js';
import { VGG19_CONV_LAYERS } from '../../src/engine/model/vgg19.js';
import { createRng } from '../../src/engine/sys/random.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';
import { randomImage } from './random-image.js';

export { randomImage };

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!;
  return acc;
}

/** ‖actual − expected‖ / ‖expected‖. */
export function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** A loss and its terms, as the engine, `nst loss --json`, the fixtures and the reference give them. */
export interface LossValues {
  readonly total: number;
  readonly style: Readonly<Record<string, number>>;
  readonly content: Readonly<Record<string, number>>;
  readonly tv: number;
}

/** The total, TV and every layer term `expected` names, each to `tolerance` relative. */
export function expectLossesMatch(actual: LossValues, expected: LossValues, tolerance = 1e-4): void {
  expect(Math.abs(actual.total / expected.total - 1), 'total').toBeLessThan(tolerance);
  // Absolute against the reference's own size: a run without the TV term has 0 for it on both sides.
  expect(Math.abs(actual.tv - expected.tv), 'tv').toBeLessThanOrEqual(tolerance * Math.abs(expected.tv));
  for (const [layer, value] of Object.entries(expected.style)) expect(Math.abs(actual.style[layer]! / value - 1), layer).toBeLessThan(tolerance);
  for (const [layer, value] of Object.entries(expected.content)) expect(Math.abs(actual.content[layer]! / value - 1), layer).toBeLessThan(tolerance);
}

/**
 * The float32 gradient `grad` at `x` against central differences of the float64 `lossAt`: along the gradient (a
 * sharp check where the derivative is large), along a random direction (every pixel at once, the gradient's
 * orthogonal part included), and along each of `pixels` (corners, edges, mask holes: where padding, the pools' floor
 * and masks matter). Each to 1e-3 relative, with an absolute floor for float32's ~1e-6 of the largest entry.
 */
export function expectGradientMatchesDifferences(x: Float32Array, grad: Float32Array, lossAt: (x: Float64Array) => number, pixels: readonly number[]): void {
  const maxAbs = grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(maxAbs).toBeGreaterThan(0);
  const rng = createRng(99);
  const single = (index: number): Float64Array => {
    const d = new Float64Array(x.length);
    d[index] = 1;
    return d;
  };
  const directions = [
    { label: 'along the gradient', direction: Float64Array.from(grad, (v) => v / maxAbs) },
    { label: 'random', direction: Float64Array.from(x, () => rng.normal()) },
    ...pixels.map((i) => ({ label: `pixel ${i}`, direction: single(i) })),
  ];
  const x64 = Float64Array.from(x);
  const step = 1e-3;
  for (const { label, direction } of directions) {
    const numeric = (lossAt(x64.map((v, i) => v + step * direction[i]!)) - lossAt(x64.map((v, i) => v - step * direction[i]!))) / (2 * step);
    const analytic = dot(direction, grad);
    const floor = 1e-5 * maxAbs * Math.sqrt(dot(direction, direction));
    expect(Math.abs(numeric - analytic), label).toBeLessThanOrEqual(1e-3 * Math.abs(numeric) + floor);
  }
}

/**
 * The gradient tests' world: a tiny random-weight VGG19 at an odd size, whose pools floor at every block
 * (23x19 → 11x9 → 5x4 → 2x2 → 1x1), two style images of other sizes and a content image.
 */
export const TINY: {
  readonly width: number;
  readonly height: number;
  readonly weights: Vgg19Weights;
  readonly styleLayers: string[];
  readonly contentLayers: string[];
  readonly layerWeights: Record<string, number>;
  readonly styleImages: PlanarImage[];
  readonly contentImage: PlanarImage;
} = {
  width: 23,
  height: 19,
  weights: randomVgg19Weights({ seed: 7, channelScale: 1 / 16 }),
  styleLayers: ['block1_conv1', 'block2_conv2', 'block3_conv1', 'block4_conv1', 'block5_conv1'],
  contentLayers: ['block4_conv2', 'block1_conv2'],
  layerWeights: { block1_conv1: 3, block5_conv1: 1000 },
  styleImages: [randomImage(31, 27, 2), randomImage(16, 40, 3)],
  contentImage: randomImage(23, 19, 4),
};

/** How many conv layers the reference must run to reach the deepest of `layers`. */
export function depthOf(layers: readonly string[]): number {
  return Math.max(...layers.map((l) => VGG19_CONV_LAYERS.findIndex((s) => s.name === l))) + 1;
}
