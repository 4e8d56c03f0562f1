// LossBreakdown.weighted: what each loss term adds to the total, under balanced (normalize) and user weights.

import { afterAll, describe, expect, it } from 'vitest';
import { StyleObjective, type LossWeights } from '../../src/engine/model/objective.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { randomImage } from '../helpers/random-image.js';

const SIZE = 24;
const STYLE_LAYERS = ['block1_conv1', 'block2_conv1', 'block3_conv1'];
const weights: LossWeights = { styleWeight: 2, contentWeight: 0.5, tvWeight: 0.3, normalize: true, layerWeights: { block2_conv1: 4 } };

describe('LossBreakdown.weighted', () => {
  const opened: StyleObjective[] = [];
  afterAll(async () => Promise.all(opened.map((o) => o.dispose())));

  it('gives terms that sum to the total, each what removing that term takes off the total', async () => {
    const objective = await StyleObjective.create({
      ...weights,
      weights: randomVgg19Weights({ seed: 3, depth: 8, channelScale: 1 / 8 }),
      width: SIZE,
      height: SIZE,
      styleLayers: STYLE_LAYERS,
      contentLayers: ['block3_conv2'],
      pool: 'max',
      styleImages: [randomImage(SIZE, SIZE, 1, 0, 255)],
      contentImage: randomImage(SIZE, SIZE, 2, 0, 255),
      execution: resolveExecution({ device: 'cpu', threads: 1 }, objectiveShape({ width: SIZE, height: SIZE }, { styleLayers: STYLE_LAYERS, contentLayers: ['block3_conv2'], pool: 'max' }, [{ width: SIZE, height: SIZE }])),
    });
    opened.push(objective);
    const image = randomImage(SIZE, SIZE, 3, 0, 255).data;
    const grad = new Float32Array(image.length);
    const loss = await objective.evaluate(image, grad);
    const terms = loss.weighted!;

    const parts = [...Object.values(terms.style), ...Object.values(terms.content), terms.tv];
    expect(parts.every((p) => p > 0)).toBe(true);
    expect(parts.reduce((a, b) => a + b, 0)).toBeCloseTo(loss.total, 5);
    // Balanced weights differ from the user's by the targets' size: the terms are not the raw losses.
    expect(terms.style.block1_conv1).not.toBeCloseTo(2 * loss.style.block1_conv1!, 3);

    // Independently: turning one style layer off lowers the total by exactly its term (each evaluation's shares are
    // under the weights it was made with).
    objective.setWeights({ ...weights, layerWeights: { block2_conv1: 0 } });
    const without = await objective.evaluate(image, grad);
    expect(loss.total - without.total).toBeCloseTo(terms.style.block2_conv1!, 5);
    expect(without.weighted!.style.block2_conv1).toBe(0);
    expect(without.weighted!.style.block1_conv1).toBeCloseTo(terms.style.block1_conv1!, 6);
    // Turning TV off lowers it by TV's term.
    objective.setWeights({ ...weights, tvWeight: 0 });
    const withoutTv = await objective.evaluate(image, grad);
    expect(loss.total - withoutTv.total).toBeCloseTo(terms.tv, 5);
  });
});
