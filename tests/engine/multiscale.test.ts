// Coarse-to-fine runs and original colours, on the real uint8 VGG19 and a real pair.

import { describe, expect, it } from 'vitest';
import { multiScaleIterations, runMultiScale, scaleIterations, scaleSizes } from '../../src/engine/render/multiscale.js';
import { runStyleTransfer } from '../../src/engine/render/run.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { keepOriginalColors, luminance } from '../../src/engine/io/color.js';
import { decodeImage } from '../../src/engine/io/image.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import { StyleObjective } from '../../src/engine/model/objective.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import type { PlanarImage } from '../../src/engine/io/image.js';
import { GATYS_STYLE_LAYERS } from '../../src/engine/model/vgg19.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

describe('scaleSizes', () => {
  it('is single-scale up to 384 px under auto, then halves down to at least 192 px', () => {
    expect(scaleSizes(256, 'auto')).toEqual([256]);
    expect(scaleSizes(384, 'auto')).toEqual([384]);
    expect(scaleSizes(512, 'auto')).toEqual([256, 512]);
    expect(scaleSizes(1024, 'auto')).toEqual([256, 512, 1024]);
    expect(scaleSizes(1000, 'auto')).toEqual([250, 500, 1000]);
  });
  it('takes an explicit count or off', () => {
    expect(scaleSizes(512, 3)).toEqual([128, 256, 512]);
    expect(scaleSizes(512, 'off')).toEqual([512]);
  });
  it('rejects counts that start below 16 px or are not whole', () => {
    expect(() => scaleSizes(64, 4)).toThrow(/start below 16 px/);
    expect(() => scaleSizes(512, 2.5)).toThrow(/whole number/);
    expect(() => scaleSizes(512, 0)).toThrow(/from 1 to 8/);
  });
});

describe('scaleIterations', () => {
  it('gives each coarse scale a quarter of the iterations (at least 1) and the last scale all of them', () => {
    expect(scaleIterations(300, 1)).toEqual([300]);
    expect(scaleIterations(300, 2)).toEqual([75, 300]);
    expect(scaleIterations(300, 3)).toEqual([75, 75, 300]);
    expect(scaleIterations(10, 2)).toEqual([3, 10]);
    expect(scaleIterations(1, 3)).toEqual([1, 1, 1]);
  });
  it('sums to what a run to that size counts', () => {
    expect(multiScaleIterations(300, 384, 'auto')).toBe(300);
    expect(multiScaleIterations(300, 1024, 'auto')).toBe(75 + 75 + 300);
    expect(multiScaleIterations(40, 512, 'off')).toBe(40);
  });
});

describe('keepOriginalColors', () => {
  it('keeps the content chroma exactly and the result luminance (away from clamping)', () => {
    const size = { width: 2, height: 1 };
    const content: PlanarImage = { ...size, data: new Float32Array([200, 50, 100, 60, 30, 90]) };
    const result: PlanarImage = { ...size, data: new Float32Array([120, 120, 90, 100, 110, 70]) };
    const out = keepOriginalColors(result, content);
    const yOut = luminance(out);
    const yResult = luminance(result);
    for (let i = 0; i < 2; i++) {
      expect(yOut[i]).toBeCloseTo(yResult[i]!, 4);
      // Chroma: channel differences are unchanged.
      expect(out.data[i]! - out.data[2 + i]!).toBeCloseTo(content.data[i]! - content.data[2 + i]!, 4);
      expect(out.data[4 + i]! - out.data[2 + i]!).toBeCloseTo(content.data[4 + i]! - content.data[2 + i]!, 4);
    }
  });
  it('refuses images of different sizes', () => {
    const a: PlanarImage = { width: 1, height: 1, data: new Float32Array(3) };
    const b: PlanarImage = { width: 2, height: 1, data: new Float32Array(6) };
    expect(() => keepOriginalColors(a, b)).toThrow(RangeError);
  });
});

const present = hasShared('data', 'vgg19-imagenet-uint8') && hasShared('data', 'images', 'content_tubingen_128.png');

describe.skipIf(!present)('multi-scale on a real 128-px pair', () => {
  it('produces the requested size with a style loss within 1.5x of a single-scale run of the same iterations', async () => {
    const weights = await loadWeights(sharedPath('data', 'vgg19-imagenet-uint8'));
    const content = await decodeImage(sharedPath('data', 'images', 'content_tubingen_128.png'));
    const style = await decodeImage(sharedPath('data', 'images', 'style_starry_night_128.png'));
    const settings = { ...DEFAULT_RUN_SETTINGS, iterations: 40, device: 'cpu' as const, threads: 2 };
    const sizesSeen: number[] = [];
    const multi = await runMultiScale({ weights, content, styles: [style] }, settings, {
      scales: 2,
      onEvent: (e, scale) => {
        if (e.type === 'started') sizesSeen.push(scale.sizePx);
      },
    });
    expect(sizesSeen).toEqual([64, 128]);
    expect([multi.image.width, multi.image.height]).toEqual([128, 128]);
    // A quarter of the iterations at the coarse scale (scaleIterations), all of them at the output's size.
    expect(multi.iterations).toBe(10 + 40);
    const single = await runStyleTransfer({ weights, content, styles: [style] }, settings);

    const objective = await StyleObjective.create({
      // Style only, each layer balanced by its target: the total is the style loss in comparable units.
      weights, width: 128, height: 128, pool: 'max', styleLayers: GATYS_STYLE_LAYERS, contentLayers: [],
      styleImages: [style], styleWeight: 1, contentWeight: 0, tvWeight: 0, normalize: true,
      execution: resolveExecution({ device: 'cpu' }, objectiveShape({ width: 128, height: 128 }, { styleLayers: GATYS_STYLE_LAYERS, contentLayers: [], pool: 'max' }, [style])),
    });
    try {
      const styleLoss = async (img: PlanarImage): Promise<number> =>
        (await objective.evaluate(img.data, new Float32Array(img.data.length))).total;
      const [m, s, photo] = [await styleLoss(multi.image), await styleLoss(single.image), await styleLoss(content)];
      console.log(`[multiscale] balanced style loss: multi-scale ${m.toFixed(3)}, single-scale ${s.toFixed(3)}, photo ${photo.toFixed(3)}`);
      expect(m).toBeLessThan(1.5 * s);
      expect(m).toBeLessThan(0.5 * photo);
    } finally {
      await objective.dispose();
    }
  });
});
