// Spatial-control masks before the graph: decoding (grey levels, colour, transparency), the bilinear resize, and
// the checks that refuse a mask the loss cannot use (count, range, no region, a region no layer sees).

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeMask, resizeMask, type Mask } from '../../src/engine/io/mask.js';
import { checkMask, prepareMasks } from '../../src/engine/model/masks.js';
import { StyleObjective } from '../../src/engine/model/objective.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import { NstError } from '../../src/engine/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-masks-'));
const filled = (width: number, height: number, value: number): Mask => ({ width, height, data: new Float32Array(width * height).fill(value) });

async function png(name: string, width: number, height: number, channels: 1 | 3 | 4, pixel: (x: number, y: number) => number[]): Promise<string> {
  const raw = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(pixel(x, y), (y * width + x) * channels);
  const file = path.join(dir, name);
  await sharp(raw, { raw: { width, height, channels } }).png().toFile(file);
  return file;
}

describe('decodeMask', () => {
  it('a grey image gives pixel / 255 exactly, at its own size', async () => {
    const file = await png('grey.png', 5, 3, 1, (x, y) => [x * 60 + y]);
    const mask = await decodeMask(file);
    expect([mask.width, mask.height]).toEqual([5, 3]);
    expect(Array.from(mask.data)).toEqual(Array.from({ length: 15 }, (_, i) => Math.fround(((i % 5) * 60 + Math.floor(i / 5)) / 255)));
  });

  it('a colour image gives its luma; transparent pixels are 0 (no region), not white', async () => {
    const colour = await decodeMask(await png('colour.png', 2, 1, 3, (x) => (x === 0 ? [255, 0, 0] : [0, 0, 255])));
    expect(colour.data[0]).toBeCloseTo(0.299, 6);
    expect(colour.data[1]).toBeCloseTo(0.114, 6);
    const strokes = await decodeMask(await png('strokes.png', 3, 1, 4, (x) => [255, 255, 255, [0, 128, 255][x]!]));
    expect(strokes.data[0]).toBe(0);
    expect(strokes.data[1]).toBeCloseTo(128 / 255, 2);
    expect(strokes.data[2]).toBe(1);
  });

  it('refuses a file that is not an image with NOT_AN_IMAGE naming it', async () => {
    const file = path.join(dir, 'notes.png');
    writeFileSync(file, 'not a picture');
    await expect(decodeMask(file)).rejects.toMatchObject({ code: 'NOT_AN_IMAGE', message: expect.stringContaining(file) });
  });
});

describe('resizeMask (bilinear)', () => {
  it('keeps a constant mask constant, up and down, and values within 0..1', () => {
    for (const [w, h] of [[37, 11], [5, 3], [1, 1]] as const) {
      const out = resizeMask(filled(13, 7, 0.6), w, h);
      expect([out.width, out.height]).toEqual([w, h]);
      for (const v of out.data) expect(v).toBeCloseTo(0.6, 6);
    }
  });

  it('upscaling interpolates between pixel centres (edges held); shrinking averages a thin stroke instead of missing it', () => {
    const step: Mask = { width: 2, height: 1, data: Float32Array.from([0, 1]) };
    expect(Array.from(resizeMask(step, 4, 1).data)).toEqual([0, 0.25, 0.75, 1]);
    // A one-pixel line in a 16-wide mask halved four times: a point sampler would see 0 or 1.
    const line: Mask = { width: 16, height: 1, data: Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? 1 : 0)) };
    const small = resizeMask(line, 1, 1).data[0]!;
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThan(0.2);
  });
});

describe('prepareMasks and checkMask', () => {
  const target = { width: 16, height: 16, styleCount: 2, styleLayers: ['block1_conv1', 'block3_conv1'] };

  it('resizes masks of another size to the image and copies the rest', () => {
    const own = filled(16, 16, 1);
    const prepared = prepareMasks({ styles: [own, filled(4, 4, 0.5)], content: filled(32, 8, 0.25) }, target);
    expect(prepared.styles[0]).not.toBe(own.data);
    expect(prepared.styles[1]!.length).toBe(256);
    expect(prepared.content!.length).toBe(256);
    expect(prepared.content![100]).toBeCloseTo(0.25, 6);
  });

  it('refuses a count that is not one per style image', () => {
    expect(() => prepareMasks({ styles: [filled(16, 16, 1)] }, target)).toThrow(/1 style mask for 2 style images: give one mask per style image, in style order/);
  });

  it('refuses an all-zero mask, a value outside 0..1 and a NaN, naming the mask', () => {
    expect(() => prepareMasks({ styles: [filled(16, 16, 1), filled(16, 16, 0)] }, target)).toThrow(/Style mask 2 is black everywhere/);
    expect(() => prepareMasks({ content: filled(16, 16, 0) }, target)).toThrow(/The content mask is black everywhere/);
    expect(() => checkMask(filled(2, 2, 1.5), 'm.png')).toThrow(/m\.png has a value outside 0\.\.1 \(1\.5\)/);
    expect(() => checkMask(filled(2, 2, Number.NaN), 'm.png')).toThrow(NstError);
    expect(() => checkMask({ width: 3, height: 2, data: new Float32Array(5) }, 'm.png')).toThrow(RangeError);
  });

  it('refuses a style mask whose only region is where the deepest style layer\'s pools drop rows', () => {
    // 17 rows: block3 (2 pools) sees rows 0..15 only; the region is row 16.
    const lastRow: Mask = { width: 16, height: 17, data: Float32Array.from({ length: 16 * 17 }, (_, i) => (i >= 16 * 16 ? 1 : 0)) };
    const odd = { ...target, height: 17 };
    expect(() => prepareMasks({ styles: [filled(16, 17, 1), lastRow] }, odd)).toThrow(/Style mask 2 covers only the last rows or columns of the 16x17 image, which block3_conv1 never sees/);
    // With block1 only, that row is seen.
    expect(() => prepareMasks({ styles: [filled(16, 17, 1), lastRow] }, { ...odd, styleLayers: ['block1_conv2'] })).not.toThrow();
  });

  it('the objective refuses style masks beside given (blended) style targets', async () => {
    const weights = randomVgg19Weights({ seed: 1, channelScale: 1 / 16 });
    const image = { width: 16, height: 16, data: new Float32Array(3 * 256).fill(100) };
    await expect(
      StyleObjective.create({
        weights, width: 16, height: 16, styleLayers: ['block1_conv1'], contentLayers: [], pool: 'max', styleImages: [],
        styleTargets: new Map([['block1_conv1', new Float32Array(4 * 4)]]),
        masks: { styles: [filled(16, 16, 1)] },
        contentImage: image, styleWeight: 1, contentWeight: 1, tvWeight: 0,
        execution: resolveExecution({ device: 'cpu', threads: 1, convAlgorithm: 'direct' }, objectiveShape(image, { styleLayers: ['block1_conv1'], contentLayers: [], pool: 'max' }, [])),
      }),
    ).rejects.toThrow(/Style masks need each style image's own Grams/);
  });
});
