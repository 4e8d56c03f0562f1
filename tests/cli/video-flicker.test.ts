// Issue 17's flicker target at CI's size: 3 frames of the shared pan clip painted by the video job with the default
// temporal weight flicker less (warping error against the true motion) than the same frames painted each on its own
// with the same iterations. The full measurement, on both clips at more iterations, is bench/video-flicker.ts.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEMPORAL_WEIGHT } from '../../src/cli/commands/stylize-video.js';
import { decodeImage, type PlanarImage, writeImageAtomic } from '../../src/engine/io/image.js';
import { runStyleTransfer, type RunSettings } from '../../src/engine/render/run.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { flowFromMotion, warpingError } from '../../src/engine/video/flow/warping-error.js';
import { stylizeVideo } from '../../src/engine/video/stylize/job.js';
import { stylisedFramePath } from '../../src/engine/video/stylize/job-folder.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import { builtInWeightsFolder } from '../../src/engine/weights/locate.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const CLIP = ['data', 'video', 'pan_tubingen_160x120'] as const;
const STYLE = ['data', 'images', 'style_starry_night_64.png'] as const;
const present = hasShared(...CLIP) && hasShared(...STYLE);
const FRAMES = 3;
const ITERATIONS = 3;
/** A 64x48 window of each 160x120 frame, cut rather than resized: the clip's motion stays a whole (−2, −1) px. */
const CROP = { x: 48, y: 36, width: 64, height: 48 };

const temp = mkdtempSync(path.join(os.tmpdir(), 'nst-flicker-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function crop(image: PlanarImage): PlanarImage {
  const n = image.width * image.height;
  const data = new Float32Array(3 * CROP.width * CROP.height);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < CROP.height; y++) {
      for (let x = 0; x < CROP.width; x++) data[(c * CROP.height + y) * CROP.width + x] = image.data[c * n + (CROP.y + y) * image.width + CROP.x + x]!;
    }
  }
  return { width: CROP.width, height: CROP.height, data };
}

describe.skipIf(!present)('flicker of 3 frames of the pan clip at 64 px (built-in weights to block 3, 3 iterations)', () => {
  it('is lower painted by the video job at the default temporal weight than frame by frame', async () => {
    const input = path.join(temp, 'frames');
    mkdirSync(input);
    const names = Array.from({ length: FRAMES }, (_, i) => `frame_${String(i + 1).padStart(4, '0')}.png`);
    for (const name of names) await writeImageAtomic(path.join(input, name), crop(await decodeImage(sharedPath(...CLIP, name))));
    const weights = await loadWeights(builtInWeightsFolder()!);
    const run: RunSettings = {
      ...DEFAULT_RUN_SETTINGS, iterations: ITERATIONS, styleLayers: ['block1_conv1', 'block2_conv1', 'block3_conv1'], contentLayers: ['block3_conv2'], device: 'cpu', threads: 1,
    };

    // Frame by frame, as nst batch paints them: each from its own content; read back from PNG like the job's frames.
    const style = await decodeImage(sharedPath(...STYLE), { sizePx: 64 });
    const perFrame: PlanarImage[] = [];
    for (const name of names) {
      const result = await runStyleTransfer({ weights, content: await decodeImage(path.join(input, name)), styles: [style] }, run);
      await writeImageAtomic(path.join(temp, `single-${name}`), result.image);
      perFrame.push(await decodeImage(path.join(temp, `single-${name}`)));
    }

    const jobDir = path.join(temp, 'job');
    await stylizeVideo({
      input, styles: [sharedPath(...STYLE)], jobDir, output: null, weights, command: 'test',
      settings: { sizePx: 64, iterations: ITERATIONS, firstIterations: 2 * ITERATIONS, temporalWeight: DEFAULT_TEMPORAL_WEIGHT, styleScale: 1, run },
    });
    const temporal = await Promise.all(names.map((_, i) => decodeImage(stylisedFramePath(jobDir, i + 1))));

    const truth = flowFromMotion(CROP.width, CROP.height, () => [-2, -1]);
    const flickerPerFrame = warpingError(perFrame, () => truth).meanSquared;
    const flickerTemporal = warpingError(temporal, () => truth).meanSquared;
    console.log(`[video-flicker] warping error (levels²) per-frame ${flickerPerFrame.toFixed(1)}, temporal (w ${DEFAULT_TEMPORAL_WEIGHT}) ${flickerTemporal.toFixed(1)}`);
    // Measured 11.5 against 23.8 levels² (2.1x) with the default weight 200; a quarter lower at least, with room for
    // another CPU's rounding. The bench's 10 iterations a frame at 160 px give 5-20x (docs/video.md "Flicker").
    expect(flickerTemporal).toBeLessThan(0.75 * flickerPerFrame);
  }, 60_000);
});
