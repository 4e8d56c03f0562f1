// `nst stylize --masks`: a 2-style, 2-region run on the built-in uint8 VGG19 whose regions each take their own style
// (the region-fidelity check of docs/loss.md "Masks"), and masks through tiles (cropped per tile).

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type PlanarImage } from '../../src/engine/io/image.js';
import { StyleObjective } from '../../src/engine/model/objective.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import { builtInWeightsFolder } from '../../src/engine/weights/locate.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { jsonLines, runNst } from '../helpers/cli.js';

const SIZE = 96;
const CONTENT = ['data', 'images', 'content_tubingen_128.png'] as const;
const STYLE_A = ['data', 'images', 'style_starry_night_128.png'] as const;
const STYLE_B = ['data', 'images', 'style_the_scream.jpg'] as const;
const present = hasShared(...CONTENT) && hasShared(...STYLE_A) && hasShared(...STYLE_B);
const LAYERS = ['block1_conv1', 'block2_conv1', 'block3_conv1'];

const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-stylize-masks-'));
const file = (name: string): string => path.join(dir, name);

/** A SIZE x SIZE mask, white in rows [from, to) and black elsewhere. */
async function rows(name: string, from: number, to: number): Promise<string> {
  const data = Buffer.alloc(SIZE * SIZE);
  data.fill(255, from * SIZE, to * SIZE);
  await sharp(data, { raw: { width: SIZE, height: SIZE, channels: 1 } }).png().toFile(file(name));
  return file(name);
}

beforeAll(async () => {
  await rows('top.png', 0, SIZE / 2);
  await rows('bottom.png', SIZE / 2, SIZE);
  await rows('band.png', 0, SIZE / 6);
});

/** Rows [from, to) of a planar image. */
function crop(image: PlanarImage, from: number, to: number): PlanarImage {
  const { width, height } = image;
  const h = to - from;
  const data = new Float32Array(3 * width * h);
  for (let c = 0; c < 3; c++) data.set(image.data.subarray((c * height + from) * width, (c * height + to) * width), c * width * h);
  return { width, height: h, data };
}

/** ‖G_l(image) − G_l(style)‖ per layer (the root of the unweighted style term: mean((G − A)²)). */
async function gramDistances(weights: Vgg19Weights, image: PlanarImage, style: PlanarImage): Promise<number[]> {
  const shape = { width: image.width, height: image.height };
  const objective = await StyleObjective.create({
    weights, ...shape, pool: 'max', styleLayers: LAYERS, contentLayers: [], styleImages: [style], contentImage: image,
    styleWeight: 1, contentWeight: 0, tvWeight: 0,
    execution: resolveExecution({ device: 'cpu' }, objectiveShape(shape, { styleLayers: LAYERS, contentLayers: [], pool: 'max' }, [style])),
  });
  try {
    const loss = await objective.evaluate(image.data, new Float32Array(image.data.length));
    return LAYERS.map((l) => Math.sqrt(loss.style[l]!));
  } finally {
    await objective.dispose();
  }
}

describe.skipIf(!present)(`nst stylize --masks: two styles split top/bottom (built-in uint8 VGG19, ${SIZE} px)`, () => {
  it('paints each region in its own style: its block1–3 Grams are closer to its style than to the other', async () => {
    const output = file('split.png');
    const r = await runNst([
      'stylize', sharedPath(...CONTENT), sharedPath(...STYLE_A), sharedPath(...STYLE_B), '-o', output,
      '--masks', `${file('top.png')},${file('bottom.png')}`, '--weights', builtInWeightsFolder()!,
      '--size', String(SIZE), '--iterations', '40', '--stop', 'off', '--device', 'cpu', '--threads', '1', '--checkpoint-every', '0', '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ done: true, iterations: 40, width: SIZE, height: SIZE });

    const weights = await loadWeights(builtInWeightsFolder()!);
    const painted = await decodeImage(output);
    // The styles as the run saw them (longest side SIZE); each region away from the seam by a pool's reach.
    const [a, b] = [await decodeImage(sharedPath(...STYLE_A), { sizePx: SIZE }), await decodeImage(sharedPath(...STYLE_B), { sizePx: SIZE })];
    const margin = 8;
    const regions = [
      { name: 'top (style A)', image: crop(painted, 0, SIZE / 2 - margin), own: a, other: b },
      { name: 'bottom (style B)', image: crop(painted, SIZE / 2 + margin, SIZE), own: b, other: a },
    ];
    for (const region of regions) {
      const own = await gramDistances(weights, region.image, region.own);
      const other = await gramDistances(weights, region.image, region.other);
      const factor = other.reduce((s, d) => s + d, 0) / own.reduce((s, d) => s + d, 0);
      console.log(`[masks] ${region.name}: Gram distance own ${own.map((d) => d.toExponential(2)).join(' ')}, other ${other.map((d) => d.toExponential(2)).join(' ')}; factor ${factor.toFixed(2)}`);
      expect(factor, region.name).toBeGreaterThan(1.5);
    }
  }, 90_000);
});

describe.skipIf(!present)(`nst stylize --masks with tiles (built-in uint8 VGG19, ${SIZE} px)`, () => {
  it('--tile 64 crops the masks per tile: the run tiles (style A\'s band out of the lower tiles\' reach), finishes and writes the image', async () => {
    const output = file('tiled.png');
    const r = await runNst([
      'stylize', sharedPath(...CONTENT), sharedPath(...STYLE_A), sharedPath(...STYLE_B), '-o', output,
      '--masks', `${file('band.png')},${file('bottom.png')}`, '--content-mask', file('top.png'), '--weights', builtInWeightsFolder()!,
      '--size', String(SIZE), '--tile', '64', '--tile-overlap', '16', '--style-layers', LAYERS.join(','), '--content-layers', 'block3_conv2',
      '--iterations', '4', '--stop', 'off', '--device', 'cpu', '--threads', '1', '--checkpoint-every', '0', '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.at(-1)).toMatchObject({ done: true, written: true, width: SIZE, height: SIZE, plan: { mode: 'tiled', tilePx: 64, tiles: 4 } });
    // Tiles of 64 px at rows 0 and 32: style A's band (the top 16 rows) is dropped from the lower two, which
    // still run all their iterations with style B's term; no loss is not finite.
    const tileLines = lines.filter((l) => l.phase === 'tile');
    expect(tileLines.map((l) => l.scale)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]);
    for (const line of tileLines) {
      expect(Number.isFinite(line.loss), JSON.stringify(line)).toBe(true);
      expect(Object.keys(line.style as object).sort()).toEqual(LAYERS);
    }
    const painted = await decodeImage(output);
    expect([painted.width, painted.height]).toEqual([SIZE, SIZE]);
    // The lower tiles paint style B's region (the bottom half) in style B, though style A's term left them.
    const weights = await loadWeights(builtInWeightsFolder()!);
    const [a, b] = [await decodeImage(sharedPath(...STYLE_A), { sizePx: SIZE }), await decodeImage(sharedPath(...STYLE_B), { sizePx: SIZE })];
    const bottom = crop(painted, SIZE / 2 + 8, SIZE);
    const own = await gramDistances(weights, bottom, b);
    const other = await gramDistances(weights, bottom, a);
    const factor = other.reduce((x, d) => x + d, 0) / own.reduce((x, d) => x + d, 0);
    console.log(`[masks] tiled, bottom (style B): factor ${factor.toFixed(2)}`);
    expect(factor).toBeGreaterThan(1.5);
  }, 90_000);
});
