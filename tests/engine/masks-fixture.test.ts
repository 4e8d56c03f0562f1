// The spatial-control fixture in ../shared/fixtures/masks (PyTorch autograd on the real weights: guided Grams for
// two styles and a content mask) is matched by the engine and by `nst loss --masks … --content-mask …`: loss to
// 1e-4 relative, gradient to 1e-3 relative L2.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StyleObjective } from '../../src/engine/model/objective.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import { chwToHwc, decodeImage } from '../../src/engine/io/image.js';
import { decodeMask } from '../../src/engine/io/mask.js';
import { readNpyFloat32 } from '../../src/engine/io/npy.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { jsonLines, runNst } from '../helpers/cli.js';
import { expectLossesMatch, relativeL2 } from '../helpers/loss-checks.js';

interface MaskFixture {
  style_layers: string[];
  content_layers: string[];
  style_weight: number;
  content_weight: number;
  tv_weight: number;
  layer_weights: Record<string, number>;
  pool: 'max' | 'avg';
  weights: string;
  style: string[];
  content: string;
  image: string;
  masks: string[];
  content_mask: string;
  expected: { total: number; style: Record<string, number>; content: Record<string, number>; tv: number };
  grad: string;
}

const NAME = 'uint8-masks-two-styles';
const present = hasShared('fixtures', 'masks', `${NAME}.json`);
const spec = present ? (JSON.parse(readFileSync(sharedPath('fixtures', 'masks', `${NAME}.json`), 'utf8')) as MaskFixture) : null;
const fixture = (file: string): string => sharedPath('fixtures', 'masks', file);
const weightsDir = spec ? sharedPath(spec.weights) : '';
const hasWeights = spec !== null && existsSync(weightsDir);
if (spec && !hasWeights) console.warn(`[masks fixture] ${weightsDir} absent: skipped`);

describe.skipIf(!hasWeights)(`PyTorch fixture masks/${NAME}`, () => {
  const s = spec!;

  it.each(['direct', 'winograd'] as const)('engine (%s convs): guided Grams and the masked content term match PyTorch autograd', async (conv) => {
    const weights = await loadWeights(weightsDir);
    const image = await decodeImage(fixture(s.image));
    const layers = { styleLayers: s.style_layers, contentLayers: s.content_layers, pool: s.pool };
    const styleImages = await Promise.all(s.style.map((f) => decodeImage(fixture(f))));
    const objective = await StyleObjective.create({
      weights,
      width: image.width,
      height: image.height,
      ...layers,
      styleImages,
      contentImage: await decodeImage(fixture(s.content)),
      masks: { styles: await Promise.all(s.masks.map((f) => decodeMask(fixture(f)))), content: await decodeMask(fixture(s.content_mask)) },
      styleWeight: s.style_weight,
      contentWeight: s.content_weight,
      tvWeight: s.tv_weight,
      layerWeights: s.layer_weights,
      execution: resolveExecution({ device: 'cpu', threads: 2, convAlgorithm: conv }, objectiveShape(image, layers, styleImages)),
      winogradMinTiles: 1,
    });
    try {
      const grad = new Float32Array(image.data.length);
      expectLossesMatch(await objective.evaluate(image.data, grad), s.expected);
      const expectedGrad = await readNpyFloat32(fixture(s.grad));
      expect(expectedGrad.shape).toEqual([image.height, image.width, 3]);
      expect(relativeL2(chwToHwc(grad, image.width, image.height), expectedGrad.data)).toBeLessThan(1e-3);
    } finally {
      await objective.dispose();
    }
  });

  it('`nst loss --masks --content-mask` prints the same losses and writes the same gradient', async () => {
    const gradOut = path.join(mkdtempSync(path.join(os.tmpdir(), 'nst-loss-masks-')), 'grad.npy');
    const result = await runNst([
      'loss', fixture(s.image),
      '--style', ...s.style.map(fixture),
      '--content', fixture(s.content),
      '--masks', s.masks.map(fixture).join(','),
      '--content-mask', fixture(s.content_mask),
      '--weights', weightsDir,
      '--style-layers', s.style_layers.join(','),
      '--content-layers', s.content_layers.join(','),
      '--layer-weights', Object.entries(s.layer_weights).map(([l, w]) => `${l}=${w}`).join(','),
      '--style-weight', String(s.style_weight),
      '--content-weight', String(s.content_weight),
      '--tv-weight', String(s.tv_weight),
      '--pool', s.pool,
      '--device', 'cpu',
      '--json', '--grad-out', gradOut,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectLossesMatch(jsonLines(result.stdout)[0] as unknown as MaskFixture['expected'], s.expected);
    const written = await readNpyFloat32(gradOut);
    const expectedGrad = await readNpyFloat32(fixture(s.grad));
    expect(written.shape).toEqual(expectedGrad.shape);
    expect(relativeL2(written.data, expectedGrad.data)).toBeLessThan(1e-3);
  });
});
