// StyleObjective.setContent (a video job's next frame on the objective it keeps): the next evaluation gives exactly
// what an objective built with that content gives (content targets and the normalize balance that depends on them),
// raw and normalised, with a temporal term set after it too; runOnObjective on a kept objective paints what
// runStyleTransfer's fresh one paints; another size is refused.

import { describe, expect, it } from 'vitest';
import { StyleObjective, type LossBreakdown } from '../../src/engine/model/objective.js';
import type { TemporalTerm } from '../../src/engine/model/temporal.js';
import { createRunObjective, runOnObjective, runStyleTransfer, type RunSettings } from '../../src/engine/render/run.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { randomImage, TINY } from '../helpers/loss-checks.js';
import { useTestObjectives } from '../helpers/test-objectives.js';

const { width: WIDTH, height: HEIGHT, weights, styleLayers: STYLE_LAYERS, contentLayers: CONTENT_LAYERS, layerWeights: LAYER_WEIGHTS, styleImages, contentImage } = TINY;
const NEXT = randomImage(WIDTH, HEIGHT, 61);

/** Every style and content layer of the tiny world, TV, one style image. */
const BASE = { styleLayers: STYLE_LAYERS, contentLayers: CONTENT_LAYERS, styleWeight: 1, contentWeight: 1, tvWeight: 5, layerWeights: LAYER_WEIGHTS, pool: 'max' as const, styleImages: [styleImages[0]!] };

const term = (seed: number, weight: number): TemporalTerm => ({
  target: randomImage(WIDTH, HEIGHT, seed).data,
  mask: Float32Array.from({ length: WIDTH * HEIGHT }, (_, p) => (p % 7 === 0 ? 0 : ((p * 37) % 101) / 100)),
  weight,
});

const objectives = useTestObjectives({ weights, width: WIDTH, height: HEIGHT });
const objective = objectives.open;

async function evaluate(o: StyleObjective, x: Float32Array): Promise<{ loss: LossBreakdown; grad: Float32Array }> {
  const grad = new Float32Array(x.length);
  return { loss: await o.evaluate(x, grad), grad };
}

describe('StyleObjective.setContent', () => {
  for (const normalize of [false, true]) {
    it(`gives the loss and gradient of an objective built with that content (normalize ${normalize ? 'on' : 'off'})`, async () => {
      const x = randomImage(WIDTH, HEIGHT, 62).data;
      const kept = await objective({ ...BASE, normalize, contentImage });
      const before = await evaluate(kept, x);
      await kept.setContent(NEXT);
      const after = await evaluate(kept, x);
      const fresh = await evaluate(await objective({ ...BASE, normalize, contentImage: NEXT }), x);
      // The content term (and under normalize its balance and TV's) moved with the frame…
      for (const layer of CONTENT_LAYERS) expect(Math.abs(after.loss.content[layer]! / before.loss.content[layer]! - 1), layer).toBeGreaterThan(1e-3);
      // …to exactly the fresh objective's: same targets, same fed weights, same graph.
      expect(after.loss).toEqual(fresh.loss);
      expect(after.grad).toEqual(fresh.grad);
      // The content image's own features are the targets: its content term is 0 (the second call reuses the graph).
      await kept.setContent(contentImage);
      const own = await evaluate(kept, contentImage.data);
      for (const layer of CONTENT_LAYERS) expect(own.loss.content[layer], layer).toBe(0);
    });
  }

  it('with a temporal term set after it (a video frame): what a fresh objective built with both gives', async () => {
    const x = randomImage(WIDTH, HEIGHT, 63).data;
    const idle = { target: contentImage.data, mask: new Float32Array(WIDTH * HEIGHT), weight: 0 };
    const kept = await objective({ ...BASE, normalize: true, contentImage, temporal: idle });
    await kept.setContent(NEXT);
    kept.setTemporal(term(64, 200));
    const after = await evaluate(kept, x);
    const fresh = await evaluate(await objective({ ...BASE, normalize: true, contentImage: NEXT, temporal: term(64, 200) }), x);
    expect(after.loss.temporal).toBeGreaterThan(0);
    expect(after.loss).toEqual(fresh.loss);
    expect(after.grad).toEqual(fresh.grad);
  });

  it('refuses a content image of another size, naming both sizes', async () => {
    const kept = await objective({ ...BASE, contentImage });
    await expect(kept.setContent(randomImage(WIDTH + 1, HEIGHT, 65))).rejects.toThrow(new RangeError(`The content image must be ${WIDTH}x${HEIGHT} (3·${HEIGHT}·${WIDTH} values), got ${WIDTH + 1}x${HEIGHT} (${3 * (WIDTH + 1) * HEIGHT} values).`));
  });
});

describe('runOnObjective', () => {
  const settings: RunSettings = { ...DEFAULT_RUN_SETTINGS, ...BASE, normalize: true, iterations: 4, device: 'cpu', threads: 1, convAlgorithm: 'direct', reportEvery: 1 };

  it('on a kept objective fed the next frame paints what runStyleTransfer paints with a fresh one (a resumed video job), and leaves it open', async () => {
    const start = randomImage(WIDTH, HEIGHT, 66).data;
    const temporal = term(67, 200);
    const fresh = await runStyleTransfer({ weights, content: NEXT, styles: BASE.styleImages, startImage: start, temporal }, settings);
    const kept = await createRunObjective({ weights, content: contentImage, styles: BASE.styleImages, temporal: { target: contentImage.data, mask: new Float32Array(WIDTH * HEIGHT), weight: 0 } }, settings);
    objectives.keep(kept);
    await kept.setContent(NEXT);
    kept.setTemporal(temporal);
    const progress: number[] = [];
    const result = await runOnObjective(kept, { weights, content: NEXT, styles: BASE.styleImages, startImage: start }, settings, { onEvent: (e) => e.type === 'progress' && progress.push(e.iteration) });
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(result.iterations).toBe(4);
    expect(result.finalLoss).toEqual(fresh.finalLoss);
    expect(result.image.data).toEqual(fresh.image.data);
    // Still usable: the caller disposes it.
    expect((await evaluate(kept, start)).loss.total).toBeGreaterThan(0);
  });

  it('refuses a content image of another size than the objective\'s', async () => {
    const kept = await createRunObjective({ weights, content: contentImage, styles: BASE.styleImages }, settings);
    objectives.keep(kept);
    const other = randomImage(WIDTH, HEIGHT + 2, 68);
    await expect(runOnObjective(kept, { weights, content: other, styles: BASE.styleImages }, settings)).rejects.toThrow(new RangeError(`The content image is ${WIDTH}x${HEIGHT + 2}; the objective was built for ${WIDTH}x${HEIGHT}.`));
  });
});
