// The masked loss (guided Grams, masked content) of the built graph equals an independent float64 reference, and
// its gradient equals central finite differences of that reference, on a tiny random-weight VGG19; all-ones masks
// give the unmasked loss; setMasks reaches the next evaluation.

import { describe, expect, it } from 'vitest';
import { StyleObjective } from '../../src/engine/model/objective.js';
import type { LossMasks } from '../../src/engine/model/masks.js';
import type { Mask } from '../../src/engine/io/mask.js';
import { createRng } from '../../src/engine/sys/random.js';
import type { PoolKind } from '../../src/engine/settings.js';
import { referenceActivations, referenceGram, referenceLoss, type ReferenceSpec } from '../helpers/reference-vgg.js';
import { depthOf, expectGradientMatchesDifferences, expectLossesMatch, randomImage, relativeL2, TINY } from '../helpers/loss-checks.js';
import { useTestObjectives, type ObjectiveParts } from '../helpers/test-objectives.js';

// The gradient tests' world; odd sizes exercise the pools' floor on the masks too: 23x19 → 11x9 → 5x4 → 2x2 → 1x1.
const { width: WIDTH, height: HEIGHT, weights, styleLayers: STYLE_LAYERS, contentLayers: CONTENT_LAYERS, layerWeights: LAYER_WEIGHTS, styleImages, contentImage } = TINY;

/**
 * Two soft regions split left/right, each with a hole of exact zeros and random grey levels, and a content mask
 * that keeps the middle: every value kind a painted mask has (0, 1, between).
 */
function regionMask(seed: number, keep: (x: number, y: number) => number): Mask {
  const rng = createRng(seed);
  const data = new Float32Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) data[y * WIDTH + x] = Math.min(1, Math.max(0, keep(x, y) + 0.2 * (rng.uniform() - 0.5)));
  }
  return { width: WIDTH, height: HEIGHT, data };
}
const left = regionMask(21, (x, y) => (x < 5 && y < 4 ? 0 : 1 - x / (WIDTH - 1)));
const right = regionMask(22, (x) => (x > 18 ? 0 : x / (WIDTH - 1)));
const middle = regionMask(23, (x, y) => (Math.abs(x - 11) < 6 && Math.abs(y - 9) < 5 ? 1 : y < 3 ? 0 : 0.3));

type Term = 'style' | 'content' | 'all';

function settingsFor(term: Term): Pick<ReferenceSpec, 'styleLayers' | 'contentLayers' | 'styleWeight' | 'contentWeight' | 'tvWeight'> {
  const style = term !== 'content';
  const content = term !== 'style';
  return {
    styleLayers: style ? STYLE_LAYERS : [],
    contentLayers: content ? CONTENT_LAYERS : [],
    styleWeight: style ? 1 : 0,
    contentWeight: content ? 1 : 0,
    tvWeight: term === 'all' ? 5 : 0,
  };
}

const masksFor = (term: Term): LossMasks => ({
  ...(term !== 'content' ? { styles: [left, right] } : {}),
  ...(term !== 'style' ? { content: middle } : {}),
});

function referenceSpecFor(term: Term, pool: PoolKind): ReferenceSpec {
  const settings = settingsFor(term);
  const masks = masksFor(term);
  const styleTargetsPerStyle = new Map<string, Float64Array[]>();
  for (const l of settings.styleLayers) {
    styleTargetsPerStyle.set(l, styleImages.map((img) => referenceGram(referenceActivations(Float64Array.from(img.data), img.height, img.width, weights, pool, depthOf([l]))[depthOf([l]) - 1]!)));
  }
  const contentTargets = new Map<string, Float64Array>();
  const acts = referenceActivations(Float64Array.from(contentImage.data), HEIGHT, WIDTH, weights, pool, depthOf(settings.contentLayers.length > 0 ? settings.contentLayers : ['block1_conv1']));
  for (const l of settings.contentLayers) contentTargets.set(l, acts[depthOf([l]) - 1]!.data);
  return {
    ...settings,
    weights,
    pool,
    layerWeights: LAYER_WEIGHTS,
    styleTargets: new Map(),
    contentTargets,
    ...(masks.styles ? { styleMasks: masks.styles.map((m) => Float64Array.from(m.data)), styleTargetsPerStyle } : {}),
    ...(masks.content ? { contentMask: Float64Array.from(masks.content.data) } : {}),
  };
}

const objectives = useTestObjectives({ weights, width: WIDTH, height: HEIGHT, contentImage });
const objective = (spec: ObjectiveParts, convAlgorithm: 'direct' | 'winograd' = 'direct', maxPoolGrad: 'argmax' | 'mask' = 'argmax'): Promise<StyleObjective> =>
  objectives.open(spec, { convAlgorithm, maxPoolGrad, winogradMinTiles: 1 });

describe.each<{ pool: PoolKind; maxPoolGrad: 'argmax' | 'mask'; conv: 'direct' | 'winograd' }>([
  { pool: 'max', maxPoolGrad: 'argmax', conv: 'direct' },
  { pool: 'max', maxPoolGrad: 'mask', conv: 'winograd' },
  { pool: 'avg', maxPoolGrad: 'argmax', conv: 'direct' },
])('masked loss graph with $pool pooling ($maxPoolGrad backward, $conv convs)', ({ pool, maxPoolGrad, conv }) => {
  it.each<Term>(['style', 'content', 'all'])('masked %s term: losses match the float64 reference, gradient matches its finite differences', async (term) => {
    const settings = settingsFor(term);
    const o = await objective({ ...settings, pool, styleImages, layerWeights: LAYER_WEIGHTS, masks: masksFor(term) }, conv, maxPoolGrad);
    const spec = referenceSpecFor(term, pool);
    const x = randomImage(WIDTH, HEIGHT, 11).data;
    const grad = new Float32Array(x.length);
    const loss = await o.evaluate(x, grad);
    const reference = referenceLoss(Float64Array.from(x), HEIGHT, WIDTH, spec);
    expectLossesMatch(loss, reference);
    // Inside the left mask's hole, at the last (floored) column and row, and where the content mask is 0.
    const pixels = [WIDTH + 2, WIDTH * HEIGHT - 1, WIDTH * HEIGHT + 7 * WIDTH + 5, 2 * WIDTH * HEIGHT + WIDTH + 12];
    expectGradientMatchesDifferences(x, grad, (at) => referenceLoss(at, HEIGHT, WIDTH, spec).total, pixels);
  });
});

describe('masks as graph inputs', () => {
  const ones: Mask = { width: WIDTH, height: HEIGHT, data: new Float32Array(WIDTH * HEIGHT).fill(1) };
  const base = { ...settingsFor('all'), pool: 'max' as const, styleImages: [styleImages[0]!], layerWeights: LAYER_WEIGHTS };

  it('all-ones masks give the unmasked loss and gradient (to float32 rounding)', async () => {
    const plain = await objective(base);
    const masked = await objective({ ...base, masks: { styles: [ones], content: ones } });
    const x = randomImage(WIDTH, HEIGHT, 12).data;
    const gradPlain = new Float32Array(x.length);
    const gradMasked = new Float32Array(x.length);
    const a = await plain.evaluate(x, gradPlain);
    const b = await masked.evaluate(x, gradMasked);
    expect(Math.abs(b.total / a.total - 1)).toBeLessThan(1e-5);
    for (const l of STYLE_LAYERS) expect(Math.abs(b.style[l]! / a.style[l]! - 1), l).toBeLessThan(1e-5);
    for (const l of CONTENT_LAYERS) expect(Math.abs(b.content[l]! / a.content[l]! - 1), l).toBeLessThan(1e-5);
    expect(relativeL2(gradMasked, gradPlain)).toBeLessThan(1e-5);
  });

  it('normalize balances a guided layer by its style images\' targets: one all-ones mask weighs as the unmasked layer', async () => {
    const plain = await objective({ ...base, normalize: true });
    const masked = await objective({ ...base, normalize: true, masks: { styles: [ones] } });
    const x = randomImage(WIDTH, HEIGHT, 13).data;
    const grad = new Float32Array(x.length);
    const a = await plain.evaluate(x, grad);
    const b = await masked.evaluate(x, grad);
    for (const l of STYLE_LAYERS) expect(Math.abs(b.weighted!.style[l]! / a.weighted!.style[l]! - 1), l).toBeLessThan(1e-5);
  });

  it('setMasks changes the next evaluation to what an objective built with those masks gives, without a rebuild', async () => {
    const spec = { ...base, styleImages, masks: { styles: [left, right], content: middle } };
    const edited = await objective(spec);
    const x = randomImage(WIDTH, HEIGHT, 14).data;
    const grad = new Float32Array(x.length);
    const before = await edited.evaluate(x, grad);
    // A half-size mask: resized to the image as at creation.
    const small: Mask = { width: 12, height: 10, data: Float32Array.from({ length: 120 }, (_, i) => (i % 12) / 11) };
    const swapped = { styles: [right, small], content: ones };
    edited.setMasks(swapped);
    const after = await edited.evaluate(x, grad);
    const fresh = await objective({ ...spec, masks: swapped });
    const freshGrad = new Float32Array(x.length);
    const expected = await fresh.evaluate(x, freshGrad);
    expect(Math.abs(after.total / before.total - 1)).toBeGreaterThan(1e-3);
    expect(Math.abs(after.total / expected.total - 1)).toBeLessThan(1e-6);
    expect(relativeL2(grad, freshGrad)).toBeLessThan(1e-6);
  });

  it('setMasks refuses another kind of masks than the objective was built for, naming both', async () => {
    const o = await objective({ ...base, styleImages, masks: { styles: [left, right] } });
    expect(() => o.setMasks({ styles: [left, right], content: middle })).toThrow(/built for 2 style masks and no content mask, not 2 style masks and a content mask/);
    expect(() => o.setMasks({ styles: [left] })).toThrow(/1 style mask for 2 style images/);
  });
});
