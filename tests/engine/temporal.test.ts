// The temporal term (video, Ruder et al. 2016): its loss is w · mean(c ⊙ (x − ω)²) computed in plain TypeScript, its
// gradient matches finite differences, weight 0 or no term gives today's loss to the bit, setTemporal reaches the next
// evaluation, bad terms are refused with their sentence, and multi-scale and tiled renders carry it to every stage.

import { describe, expect, it } from 'vitest';
import { StyleObjective, type LossBreakdown } from '../../src/engine/model/objective.js';
import { checkTemporal, cropTemporal, resizeTemporal, TEMPORAL_BALANCE, type TemporalTerm } from '../../src/engine/model/temporal.js';
import { estimateMemory, keptTensors } from '../../src/engine/render/memory.js';
import { resizeLongest, runMultiScale } from '../../src/engine/render/multiscale.js';
import { renderStyleTransfer } from '../../src/engine/render/render.js';
import type { RenderEvent, RunSettings } from '../../src/engine/render/run.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { createRng } from '../../src/engine/sys/random.js';
import { referenceActivations, referenceGram, referenceLoss, type ReferenceSpec } from '../helpers/reference-vgg.js';
import { depthOf, expectGradientMatchesDifferences, randomImage, relativeL2, TINY } from '../helpers/loss-checks.js';
import { useTestObjectives } from '../helpers/test-objectives.js';

const { width: WIDTH, height: HEIGHT, weights, styleLayers: STYLE_LAYERS, contentLayers: CONTENT_LAYERS, layerWeights: LAYER_WEIGHTS, styleImages, contentImage } = TINY;
const PLANE = WIDTH * HEIGHT;

/** A consistency mask with every value kind a flow check gives: exact 0 (an occluded square), exact 1, between. */
function consistency(width: number, height: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: width * height }, (_, p) => {
    const x = p % width;
    const y = Math.floor(p / width);
    if (x >= 3 && x < 9 && y >= 2 && y < 7) return 0;
    return y % 3 === 0 ? 1 : rng.uniform();
  });
}

/** The term's own definition, in float64: mean over the 3·H·W values of c ⊙ (x − ω)², c broadcast over RGB. */
function temporalOf(x: ArrayLike<number>, term: TemporalTerm): number {
  const plane = term.mask.length;
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += term.mask[i % plane]! * (x[i]! - term.target[i]!) ** 2;
  return acc / x.length;
}

/** The weight the graph was fed for the term (its share over the term): float32, so to 1e-6. */
const expectFedWeight = (loss: LossBreakdown, weight: number): void => expect(Math.abs(loss.weighted!.temporal! / loss.temporal! / weight - 1)).toBeLessThan(1e-6);

const termAt = (seed: number, weight: number): TemporalTerm => ({ target: randomImage(WIDTH, HEIGHT, seed).data, mask: consistency(WIDTH, HEIGHT, seed + 1), weight });

/** The gradient tests' whole loss: every style and content layer of the tiny world, TV, one style image, raw weights. */
const BASE = { styleLayers: STYLE_LAYERS, contentLayers: CONTENT_LAYERS, styleWeight: 1, contentWeight: 1, tvWeight: 5, layerWeights: LAYER_WEIGHTS, pool: 'max' as const, styleImages: [styleImages[0]!] };

function referenceSpec(): ReferenceSpec {
  const style = styleImages[0]!;
  const styleActs = referenceActivations(Float64Array.from(style.data), style.height, style.width, weights, 'max', depthOf(STYLE_LAYERS));
  const contentActs = referenceActivations(Float64Array.from(contentImage.data), HEIGHT, WIDTH, weights, 'max', depthOf(CONTENT_LAYERS));
  return {
    ...BASE,
    weights,
    styleTargets: new Map(STYLE_LAYERS.map((l) => [l, referenceGram(styleActs[depthOf([l]) - 1]!)])),
    contentTargets: new Map(CONTENT_LAYERS.map((l) => [l, contentActs[depthOf([l]) - 1]!.data])),
  };
}

const objectives = useTestObjectives({ weights, width: WIDTH, height: HEIGHT, contentImage });
const objective = objectives.open;

async function evaluate(o: StyleObjective, x: Float32Array): Promise<{ loss: LossBreakdown; grad: Float32Array }> {
  const grad = new Float32Array(x.length);
  const loss = await o.evaluate(x, grad);
  return { loss, grad };
}

describe('the temporal term in the loss graph', () => {
  // Corner pixels, one inside the occluded square (c = 0: only the other terms' gradient), one on a c = 1 row.
  const pixels = [0, PLANE - 1, PLANE + 4 * WIDTH + 5, 2 * PLANE + 3 * WIDTH + 12];

  it('alone: the loss is w · mean(c ⊙ (x − ω)²) as computed in TypeScript, the gradient 2w c ⊙ (x − ω)/N by finite differences', async () => {
    const term = termAt(41, 0.37);
    // A layer is needed for a graph; its weight 0 leaves the temporal term alone in the total and the gradient.
    const o = await objective({ ...BASE, styleLayers: [], contentLayers: ['block1_conv1'], styleWeight: 0, contentWeight: 0, tvWeight: 0, layerWeights: {}, styleImages: [], temporal: term });
    const x = randomImage(WIDTH, HEIGHT, 42).data;
    const { loss, grad } = await evaluate(o, x);
    const expected = temporalOf(x, term);
    expect(Math.abs(loss.temporal! / expected - 1)).toBeLessThan(1e-5);
    expect(Math.abs(loss.total / (0.37 * expected) - 1)).toBeLessThan(1e-5);
    expect(loss.weighted!.temporal).toBeCloseTo(loss.total, 3);
    const analytic = Float32Array.from(x, (v, i) => (2 * 0.37 * term.mask[i % PLANE]! * (v - term.target[i]!)) / x.length);
    expect(relativeL2(grad, analytic)).toBeLessThan(1e-5);
    expectGradientMatchesDifferences(x, grad, (at) => 0.37 * temporalOf(at, term), pixels);
  });

  it('with every other term: total = the float64 reference + w · temporal, and the gradient matches their finite differences', async () => {
    const x = randomImage(WIDTH, HEIGHT, 43).data;
    const spec = referenceSpec();
    const rest = referenceLoss(Float64Array.from(x), HEIGHT, WIDTH, spec).total;
    // A weight that gives the temporal term the same share as all the others together: neither hides the other.
    const shape = termAt(44, 1);
    const term = { ...shape, weight: rest / temporalOf(x, shape) };
    const o = await objective({ ...BASE, temporal: term });
    const { loss, grad } = await evaluate(o, x);
    const lossAt = (at: Float64Array): number => referenceLoss(at, HEIGHT, WIDTH, spec).total + term.weight * temporalOf(at, term);
    expect(Math.abs(loss.temporal! / temporalOf(x, term) - 1)).toBeLessThan(1e-5);
    expect(Math.abs(loss.total / lossAt(Float64Array.from(x)) - 1)).toBeLessThan(1e-4);
    expectGradientMatchesDifferences(x, grad, lossAt, pixels);
  });

  it('weight 0, or no term, gives exactly the loss and gradient of today\'s graph (raw and normalised)', async () => {
    const x = randomImage(WIDTH, HEIGHT, 45).data;
    for (const normalize of [false, true]) {
      const plain = await evaluate(await objective({ ...BASE, normalize }), x);
      const off = await evaluate(await objective({ ...BASE, normalize, temporal: termAt(46, 0) }), x);
      expect(plain.loss.temporal).toBeUndefined();
      expect(off.loss.temporal).toBeGreaterThan(0);
      expect(off.loss.total).toBe(plain.loss.total);
      expect(off.loss.style).toEqual(plain.loss.style);
      expect(off.loss.content).toEqual(plain.loss.content);
      expect(off.loss.tv).toBe(plain.loss.tv);
      expect(off.loss.weighted!.temporal).toBe(0);
      expect(off.grad).toEqual(plain.grad);
    }
  });

  it('setTemporal changes the next evaluation to what an objective built with that term gives; normalize weighs it in 0..1 pixel units', async () => {
    const x = randomImage(WIDTH, HEIGHT, 47).data;
    const first = termAt(48, 2);
    const second = termAt(50, 5);
    const edited = await objective({ ...BASE, normalize: true, temporal: first });
    const before = await evaluate(edited, x);
    expectFedWeight(before.loss, 2 * TEMPORAL_BALANCE);
    // The objective copies the term: editing the caller's arrays afterwards changes nothing.
    const copy = { target: Float32Array.from(second.target), mask: Float32Array.from(second.mask), weight: second.weight };
    edited.setTemporal(copy);
    copy.target.fill(0);
    copy.mask.fill(1);
    const after = await evaluate(edited, x);
    const fresh = await evaluate(await objective({ ...BASE, normalize: true, temporal: second }), x);
    expect(Math.abs(after.loss.temporal! / before.loss.temporal! - 1)).toBeGreaterThan(1e-3);
    expect(after.loss.total).toBe(fresh.loss.total);
    expect(after.grad).toEqual(fresh.grad);
    expect(Math.abs(after.loss.temporal! / temporalOf(x, second) - 1)).toBeLessThan(1e-5);
    expectFedWeight(after.loss, 5 * TEMPORAL_BALANCE);
    // Raw weights: the term's weight as given.
    edited.setWeights({ ...BASE, normalize: false });
    const raw = await evaluate(edited, x);
    expectFedWeight(raw.loss, 5);
  });
});

describe('refusals', () => {
  const good = termAt(60, 1);
  const cases: [string, TemporalTerm, RegExp][] = [
    ['a target of another size', { ...good, target: new Float32Array(3 * PLANE - 3) }, /^The temporal target holds 1308 values; a 23x19 image needs 1311 \(the previous frame warped to this one, planar RGB\)\.$/],
    ['a mask of another size', { ...good, mask: new Float32Array(PLANE + 1) }, /^The temporal mask holds 438 values; a 23x19 image needs 437 \(one consistency value per pixel\)\.$/],
    ['a NaN in the target', { ...good, target: Float32Array.from(good.target, (v, i) => (i === 700 ? NaN : v)) }, /^The temporal target has a value that is not finite \(NaN\) at index 700: the warped frame must hold numbers\.$/],
    ['an infinite target value', { ...good, target: Float32Array.from(good.target, (v, i) => (i === 3 ? Infinity : v)) }, /not finite \(Infinity\) at index 3/],
    ['a mask value above 1', { ...good, mask: Float32Array.from(good.mask, (v, i) => (i === 9 ? 1.5 : v)) }, /^The temporal mask has a value outside 0\.\.1 \(1\.5\) at pixel 9: consistency is one value per pixel from 0 to 1\.$/],
    ['a negative mask value', { ...good, mask: Float32Array.from(good.mask, (v, i) => (i === 0 ? -0.25 : v)) }, /outside 0\.\.1 \(-0\.25\) at pixel 0/],
    ['a NaN in the mask', { ...good, mask: Float32Array.from(good.mask, (v, i) => (i === 5 ? NaN : v)) }, /outside 0\.\.1 \(NaN\) at pixel 5/],
    ['a negative weight', { ...good, weight: -1 }, /^The temporal weight must be a finite number from 0 to 1e10, got -1\.$/],
    ['a NaN weight', { ...good, weight: NaN }, /^The temporal weight must be a finite number from 0 to 1e10, got NaN\.$/],
  ];

  it.each(cases)('refuses %s with its sentence, at creation and in setTemporal', async (_, term, sentence) => {
    expect(() => checkTemporal(term, { width: WIDTH, height: HEIGHT })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT', message: expect.stringMatching(sentence) }));
    await expect(objective({ ...BASE, temporal: term })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(sentence) });
  });

  it('setTemporal refuses a bad term (the old one stays) and an objective built without the term', async () => {
    const x = randomImage(WIDTH, HEIGHT, 61).data;
    const o = await objective({ ...BASE, temporal: good });
    const before = await evaluate(o, x);
    for (const [, term, sentence] of cases) expect(() => o.setTemporal(term)).toThrow(sentence);
    expect((await evaluate(o, x)).loss.total).toBe(before.loss.total);
    const without = await objective(BASE);
    expect(() => without.setTemporal(good)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/^This objective was built without a temporal term: a temporal term needs a new objective/) }));
  });
});

describe('resizes and crops', () => {
  it('resizeTemporal keeps flat planes flat and the mask in 0..1, checks the source size, and returns the term itself at its own size', () => {
    const target = new Float32Array(3 * 40 * 30);
    target.fill(10, 0, 1200);
    target.fill(120, 1200, 2400);
    target.fill(250, 2400);
    const term = { target, mask: consistency(40, 30, 3), weight: 4 };
    const small = resizeTemporal(term, { width: 40, height: 30 }, { width: 17, height: 13 });
    expect(small.target.length).toBe(3 * 17 * 13);
    expect(small.mask.length).toBe(17 * 13);
    expect(small.weight).toBe(4);
    for (const [c, level] of [[0, 10], [1, 120], [2, 250]] as const) {
      for (const v of small.target.subarray(c * 221, (c + 1) * 221)) expect(v).toBeCloseTo(level, 3);
    }
    expect(Math.min(...small.mask)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...small.mask)).toBeLessThanOrEqual(1);
    expect(resizeTemporal(term, { width: 40, height: 30 }, { width: 40, height: 30 })).toBe(term);
    expect(() => resizeTemporal(term, { width: 30, height: 40 + 1 }, { width: 10, height: 10 })).toThrow(/The temporal target holds 3600 values; a 30x41 image needs 3690/);
  });

  it('cropTemporal takes the rectangle of every plane and scales the weight', () => {
    const size = { width: 5, height: 4 };
    const term = { target: Float32Array.from({ length: 60 }, (_, i) => i), mask: Float32Array.from({ length: 20 }, (_, i) => i / 20), weight: 3 };
    const crop = cropTemporal(term, size, { x: 1, y: 2, width: 3, height: 2 }, 0.5);
    expect([...crop.target]).toEqual([11, 12, 13, 16, 17, 18, 31, 32, 33, 36, 37, 38, 51, 52, 53, 56, 57, 58]);
    expect([...crop.mask]).toEqual([11, 12, 13, 16, 17, 18].map((i) => Math.fround(i / 20)));
    expect(crop.weight).toBe(1.5);
    expect(() => cropTemporal(term, size, { x: 3, y: 0, width: 3, height: 2 })).toThrow(/The crop 3x2\+3\+0 leaves the 5x4 image/);
  });
});

describe('the memory estimate with a temporal term', () => {
  it('counts c ⊙ (x − ω) in the graph and the target and mask planes, as given and as fed', () => {
    const spec = { width: 64, height: 48, styleLayers: ['block1_conv1'], contentLayers: ['block2_conv2'], device: 'cpu' as const, convAlgorithm: 'direct' as const, maxPoolGrad: 'argmax' as const };
    const extra = keptTensors({ ...spec, temporal: true }).filter((t) => !keptTensors(spec).some((p) => p.name === t.name));
    expect(extra.map((t) => `${t.name}:${t.shape.join('x')}`)).toEqual(['temporal_masked_diff:3x48x64']);
    const a = estimateMemory(spec);
    const b = estimateMemory({ ...spec, temporal: true });
    expect(b.parts.imageBuffers - a.parts.imageBuffers).toBe(2 * 4 * 64 * 48 * 4);
    expect(b.breakdown.activations - a.breakdown.activations).toBe(3 * 64 * 48 * 4);
  });
});

describe('renders with a temporal term', () => {
  const content = randomImage(40, 30, 70);
  const inputs = { weights, content, styles: [randomImage(24, 24, 71)] };
  const settings: RunSettings = { ...DEFAULT_RUN_SETTINGS, styleLayers: ['block1_conv1', 'block2_conv1'], contentLayers: ['block2_conv2'], optimizer: 'adam', iterations: 2, device: 'cpu', threads: 1 };
  const temporal = { target: randomImage(40, 30, 72).data, mask: consistency(40, 30, 73), weight: 50 };

  it('multi-scale: each scale takes the term resized to its size (the coarse scale\'s first loss is the formula on the resized target and start)', async () => {
    const events: { event: RenderEvent; index: number }[] = [];
    const result = await runMultiScale({ ...inputs, temporal }, settings, { scales: 2, onEvent: (event, scale) => events.push({ event, index: scale.index }) });
    expect(result.iterations).toBe(3);
    const progress = events.flatMap(({ event, index }) => (event.type === 'progress' ? [{ loss: event.loss, index }] : []));
    expect(new Set(progress.map((p) => p.index))).toEqual(new Set([0, 1]));
    for (const { loss } of progress) expect(loss.temporal).toBeGreaterThan(0);
    // init 'content': the coarse scale starts from the content at 20x15.
    const coarse = await resizeLongest(content, 20);
    const coarseTerm = resizeTemporal(temporal, content, coarse);
    expect(Math.abs(progress[0]!.loss.temporal! / temporalOf(coarse.data, coarseTerm) - 1)).toBeLessThan(1e-5);
    expect(result.finalLoss.temporal).toBeCloseTo(temporalOf(result.image.data, temporal), 0);
  });

  it('tiled: the pass and every tile take it (tiles their crop), and a bad term is refused before any work', async () => {
    const losses: { phase: string; loss: LossBreakdown }[] = [];
    const result = await renderStyleTransfer({ ...inputs, temporal }, settings, {
      scales: 'off',
      tile: 24,
      tileOverlapPx: 8,
      memoryLimitBytes: 8 * 1024 ** 3,
      onEvent: (event, phase) => event.type === 'progress' && losses.push({ phase: phase.phase, loss: event.loss }),
    });
    expect(result.plan.mode).toBe('tiled');
    expect(new Set(losses.map((l) => l.phase))).toEqual(new Set(['coherence', 'tile']));
    // The tiles run on raw weights that carry normalize's factors: the temporal one too.
    for (const { loss } of losses) expectFedWeight(loss, 50 * TEMPORAL_BALANCE);
    const started: string[] = [];
    await expect(renderStyleTransfer({ ...inputs, temporal: { ...temporal, mask: new Float32Array(10) } }, settings, { scales: 'off', tile: 24, memoryLimitBytes: 8 * 1024 ** 3, onEvent: (e) => started.push(e.type) }))
      .rejects.toThrow(/The temporal mask holds 10 values; a 40x30 image needs 1200/);
    expect(started).toEqual([]);
  });
});
