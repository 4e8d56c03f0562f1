// `nst loss`: the unweighted per-layer values and each term's weighted share of the total, raw and normalised.

import { describe, expect, it } from 'vitest';
import { jsonLines, runNst } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const hasData = hasShared('data', 'vgg19-imagenet-block1-3') && hasShared('data', 'images');
const WEIGHTS = sharedPath('data', 'vgg19-imagenet-block1-3');
const CONTENT = sharedPath('data', 'images', 'content_tubingen_64.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_64.png');
const LAYERS = ['--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2', '--device', 'cpu', '--weights', WEIGHTS];

interface LossLine {
  total: number;
  style: Record<string, number>;
  content: Record<string, number>;
  tv: number;
  weighted: { style: Record<string, number>; content: Record<string, number>; tv: number };
}

async function loss(image: string, content: string, args: string[]): Promise<LossLine> {
  const result = await runNst(['loss', image, '--style', STYLE, '--content', content, ...LAYERS, ...args]);
  expect(result.code, result.stderr).toBe(0);
  return jsonLines(result.stdout)[0] as unknown as LossLine;
}

const sumOf = (l: LossLine): number => [...Object.values(l.weighted.style), ...Object.values(l.weighted.content), l.weighted.tv].reduce((a, b) => a + b, 0);

describe.skipIf(!hasData)('nst loss (real block1–3 VGG19, the 64-px pair; skipped without ../shared/data)', () => {
  it('raw weights: each share is the unweighted term times its weights, and the shares sum to the total', async () => {
    // The photo against the painting as style and as content: every term is non-zero.
    const l = await loss(CONTENT, STYLE, ['--style-weight', '2', '--content-weight', '3', '--tv-weight', '0.5', '--layer-weights', 'block2_conv1=4']);
    expect(l.weighted.style.block1_conv1! / (2 * l.style.block1_conv1!)).toBeCloseTo(1, 5);
    expect(l.weighted.style.block2_conv1! / (8 * l.style.block2_conv1!)).toBeCloseTo(1, 5);
    expect(l.weighted.content.block3_conv2! / (3 * l.content.block3_conv2!)).toBeCloseTo(1, 5);
    expect(l.weighted.tv / (0.5 * l.tv)).toBeCloseTo(1, 5);
    expect(sumOf(l) / l.total).toBeCloseTo(1, 5);
  });

  it('--normalize: the shares still sum to the total; the style image against itself has no style share', async () => {
    const l = await loss(STYLE, CONTENT, ['--normalize']);
    expect(sumOf(l) / l.total).toBeCloseTo(1, 5);
    const style = Object.values(l.weighted.style);
    // The style image against itself: no style loss in any layer; content and TV carry the total.
    expect(Math.max(...style)).toBeLessThan(1e-6);
    expect(l.weighted.content.block3_conv2).toBeGreaterThan(0.01);
    expect(l.weighted.tv).toBeGreaterThan(0.01);
  });
});
