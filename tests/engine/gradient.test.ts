// The built graph's losses equal an independent float64 reference, and its gradient equals central finite
// differences of that reference, for every loss term and both pools, on a tiny random-weight VGG19.

import { afterAll, describe, expect, it } from 'vitest';
import { StyleObjective } from '../../src/engine/model/objective.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import type { PoolKind } from '../../src/engine/settings.js';
import { referenceActivations, referenceGram, referenceLoss, type ReferenceSpec } from '../helpers/reference-vgg.js';
import { depthOf, expectGradientMatchesDifferences, expectLossesMatch, randomImage, TINY } from '../helpers/loss-checks.js';

const { width: WIDTH, height: HEIGHT, weights, styleLayers: STYLE_LAYERS, contentLayers: CONTENT_LAYERS, layerWeights: LAYER_WEIGHTS, styleImages, contentImage } = TINY;
const BLEND = [0.7, 0.3];

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
    const reference = referenceLoss(Float64Array.from(x), HEIGHT, WIDTH, spec);

    expectLossesMatch(loss, reference);
    // Corners and edges, where padding and the pools' floor matter.
    const pixels = [0, WIDTH - 1, WIDTH * HEIGHT - 1, WIDTH * HEIGHT + 7 * WIDTH + 5, 2 * WIDTH * HEIGHT + (HEIGHT - 1) * WIDTH + 3];
    expectGradientMatchesDifferences(x, grad, (at) => referenceLoss(at, HEIGHT, WIDTH, spec).total, pixels);
  });
});
