// The built graph's losses equal an independent float64 reference, and its gradient equals central finite
// differences of that reference, for every loss term and both pools, on a tiny random-weight VGG19.

import { afterAll, describe, expect, it } from 'vitest';
import { StyleObjective } from '../../src/engine/model/objective.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import type { PlanarImage } from '../../src/engine/io/image.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { createRng } from '../../src/engine/sys/random.js';
import type { PoolKind } from '../../src/engine/settings.js';
import { referenceActivations, referenceGram, referenceLoss, type ReferenceSpec } from '../helpers/reference-vgg.js';
import { VGG19_CONV_LAYERS } from '../../src/engine/model/vgg19.js';

function randomImage(width: number, height: number, seed: number): PlanarImage {
  const rng = createRng(seed);
  const data = new Float32Array(3 * width * height);
  for (let i = 0; i < data.length; i++) data[i] = 40 + 175 * rng.uniform();
  return { width, height, data };
}

// Odd sizes exercise the pools' floor: 23x19 → 11x9 → 5x4 → 2x2 → 1x1.
const WIDTH = 23;
const HEIGHT = 19;
const weights = randomVgg19Weights({ seed: 7, channelScale: 1 / 16 });
const STYLE_LAYERS = ['block1_conv1', 'block2_conv2', 'block3_conv1', 'block4_conv1', 'block5_conv1'];
const CONTENT_LAYERS = ['block4_conv2', 'block1_conv2'];
const LAYER_WEIGHTS = { block1_conv1: 3, block5_conv1: 1000 };
const styleImages = [randomImage(31, 27, 2), randomImage(16, 40, 3)];
const BLEND = [0.7, 0.3];
const contentImage = randomImage(WIDTH, HEIGHT, 4);

type Term = 'style' | 'content' | 'tv' | 'all';

function settingsFor(term: Term): Pick<ReferenceSpec, 'styleLayers' | 'contentLayers' | 'styleWeight' | 'contentWeight' | 'tvWeight'> {
  const style = term === 'style' || term === 'all';
  const content = term === 'content' || term === 'all';
  return {
    styleLayers: style ? STYLE_LAYERS : [],
    contentLayers: content ? CONTENT_LAYERS : term === 'tv' ? ['block1_conv1'] : [],
    styleWeight: style ? 1 : 0,
    contentWeight: content ? 1 : 0,
    tvWeight: term === 'tv' || term === 'all' ? 5 : 0,
  };
}

const depthOf = (layers: string[]): number => Math.max(...layers.map((l) => VGG19_CONV_LAYERS.findIndex((s) => s.name === l))) + 1;

function referenceSpecFor(term: Term, pool: PoolKind): ReferenceSpec {
  const settings = settingsFor(term);
  const styleTargets = new Map<string, Float64Array>();
  if (settings.styleLayers.length > 0) {
    const grams = styleImages.map((img) => {
      const acts = referenceActivations(Float64Array.from(img.data), img.height, img.width, weights, pool, depthOf(settings.styleLayers));
      return settings.styleLayers.map((l) => referenceGram(acts[depthOf([l]) - 1]!));
    });
    settings.styleLayers.forEach((l, k) => styleTargets.set(l, grams[0]![k]!.map((v, i) => BLEND[0]! * v + BLEND[1]! * grams[1]![k]![i]!)));
  }
  const contentTargets = new Map<string, Float64Array>();
  const acts = referenceActivations(Float64Array.from(contentImage.data), HEIGHT, WIDTH, weights, pool, depthOf(settings.contentLayers));
  for (const l of settings.contentLayers) contentTargets.set(l, acts[depthOf([l]) - 1]!.data);
  return { ...settings, weights, pool, layerWeights: LAYER_WEIGHTS, styleTargets, contentTargets };
}

const opened: StyleObjective[] = [];
afterAll(async () => {
  await Promise.all(opened.map((o) => o.dispose()));
});

async function objectiveFor(term: Term, pool: PoolKind, maxPoolGrad: 'argmax' | 'mask', convAlgorithm: 'direct' | 'winograd'): Promise<StyleObjective> {
  const settings = settingsFor(term);
  const objective = await StyleObjective.create({
    ...settings,
    // Aliases are accepted wherever a layer is named.
    styleLayers: settings.styleLayers.map((l) => (l === 'block1_conv1' ? 'conv1_1' : l)),
    weights,
    width: WIDTH,
    height: HEIGHT,
    pool,
    styleImages: settings.styleLayers.length > 0 ? styleImages : [],
    styleBlend: settings.styleLayers.length > 0 ? BLEND : undefined,
    contentImage,
    layerWeights: { relu1_1: 3, block5_conv1: 1000 },
    // The CPU's execution with the other max-pool gradient where the case asks for it: both paths run on the CPU.
    execution: { ...resolveExecution({ device: 'cpu', threads: 1, convAlgorithm }, objectiveShape(contentImage, { ...settings, pool }, styleImages)), maxPoolGrad },
    // Winograd on every block 3–5 layer, not only maps of ≥ 16 tiles: here 5x4, 2x2 and 1x1, padded and cropped.
    winogradMinTiles: 1,
  });
  expect(objective.convAlgorithm).toBe(convAlgorithm);
  opened.push(objective);
  return objective;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!;
  return acc;
}

// Winograd F(4x4,3x3) runs blocks 3–5 here on maps of 5x4, 2x2 and 1x1: every tile padded and cropped.
describe.each<{ pool: PoolKind; maxPoolGrad: 'argmax' | 'mask'; conv: 'direct' | 'winograd' }>([
  { pool: 'max', maxPoolGrad: 'argmax', conv: 'direct' },
  { pool: 'max', maxPoolGrad: 'argmax', conv: 'winograd' },
  { pool: 'max', maxPoolGrad: 'mask', conv: 'winograd' },
  { pool: 'avg', maxPoolGrad: 'argmax', conv: 'direct' },
  { pool: 'avg', maxPoolGrad: 'argmax', conv: 'winograd' },
])('loss graph with $pool pooling ($maxPoolGrad backward, $conv convs)', ({ pool, maxPoolGrad, conv }) => {
  it.each<Term>(['style', 'content', 'tv', 'all'])('the %s term: losses match the float64 reference, gradient matches its finite differences', async (term) => {
    const objective = await objectiveFor(term, pool, maxPoolGrad, conv);
    const spec = referenceSpecFor(term, pool);
    const x = randomImage(WIDTH, HEIGHT, 11).data;
    const grad = new Float32Array(x.length);
    const loss = await objective.evaluate(x, grad);
    const x64 = Float64Array.from(x);
    const reference = referenceLoss(x64, HEIGHT, WIDTH, spec);

    expect(Math.abs(loss.total / reference.total - 1)).toBeLessThan(1e-4);
    expect(Math.abs(loss.tv - reference.tv)).toBeLessThanOrEqual(1e-4 * reference.tv);
    for (const l of spec.styleLayers) expect(Math.abs(loss.style[l]! / reference.style[l]! - 1)).toBeLessThan(1e-4);
    for (const l of spec.contentLayers) expect(Math.abs(loss.content[l]! / reference.content[l]! - 1)).toBeLessThan(1e-4);

    const maxAbs = grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbs).toBeGreaterThan(0);
    const rng = createRng(99);
    const single = (index: number): Float64Array => {
      const d = new Float64Array(x.length);
      d[index] = 1;
      return d;
    };
    const cases: { label: string; direction: Float64Array; tolerance: number }[] = [
      // Along the gradient the derivative is large, so the check is sharp...
      { label: 'along the gradient', direction: Float64Array.from(grad, (v) => v / maxAbs), tolerance: 1e-3 },
      // ...random directions probe every pixel at once, the gradient's orthogonal part included...
      { label: 'random', direction: Float64Array.from(x, () => rng.normal()), tolerance: 1e-3 },
      // ...and single pixels at corners and edges, where padding and the pools' floor matter.
      ...[0, WIDTH - 1, WIDTH * HEIGHT - 1, WIDTH * HEIGHT + 7 * WIDTH + 5, 2 * WIDTH * HEIGHT + (HEIGHT - 1) * WIDTH + 3].map((i) => ({
        label: `pixel ${i}`,
        direction: single(i),
        tolerance: 1e-3,
      })),
    ];
    const step = 1e-3;
    for (const { label, direction, tolerance } of cases) {
      const plus = referenceLoss(x64.map((v, i) => v + step * direction[i]!), HEIGHT, WIDTH, spec).total;
      const minus = referenceLoss(x64.map((v, i) => v - step * direction[i]!), HEIGHT, WIDTH, spec).total;
      const numeric = (plus - minus) / (2 * step);
      const analytic = dot(direction, grad);
      // Absolute floor: float32 gradient entries are good to ~1e-6 of the largest one.
      const floor = 1e-5 * maxAbs * Math.sqrt(dot(direction, direction));
      expect(Math.abs(numeric - analytic), label).toBeLessThanOrEqual(tolerance * Math.abs(numeric) + floor);
    }
  });
});
