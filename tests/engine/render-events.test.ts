// The render's events count iterations across its stages (scales, the tiled pass, tiles, a resumed stage), so that no
// front end counts them itself: iteration runs 1…total without gaps, stageIteration restarts with each stage.

import { describe, expect, it } from 'vitest';
import { noiseImage } from '../../src/engine/io/image.js';
import { renderStyleTransfer, planIterations, type RenderState } from '../../src/engine/render/render.js';
import { RunController, type RenderEvent, type RunSettings } from '../../src/engine/render/run.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import type { CheckpointSink } from '../../src/engine/render/run.js';

const weights = randomVgg19Weights({ seed: 3, channelScale: 1 / 16, depth: 4 });
const settings: RunSettings = {
  ...DEFAULT_RUN_SETTINGS,
  iterations: 4,
  optimizer: 'adam',
  styleLayers: ['block1_conv1', 'block2_conv1'],
  contentLayers: ['block2_conv2'],
  device: 'cpu',
  threads: 1,
};
const content = noiseImage(64, 48, 1);
const styles = [noiseImage(40, 40, 2)];
const GiB = 2 ** 30;

type Progress = Extract<RenderEvent, { type: 'progress' }>;

async function record(options: Partial<Parameters<typeof renderStyleTransfer>[2]>): Promise<{ progress: Progress[]; started: number[] }> {
  const progress: Progress[] = [];
  const started: number[] = [];
  await renderStyleTransfer({ weights, content, styles }, settings, {
    scales: 'off',
    tile: 'off',
    memoryLimitBytes: 4 * GiB,
    ...options,
    onEvent: (event) => {
      if (event.type === 'progress') progress.push(event);
      if (event.type === 'started') started.push(event.iteration);
    },
  });
  return { progress, started };
}

describe('render events', () => {
  it('count across the scales of a multi-scale run: 1…total, the total known from the first event', async () => {
    const { progress, started } = await record({ scales: 2 });
    const total = planIterations({ mode: 'whole', sizePx: 64, estimateBytes: 0 }, settings.iterations, 2);
    expect(total).toBe(1 + 4);
    expect(progress.map((e) => e.iteration)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.map((e) => e.stageIteration)).toEqual([1, 1, 2, 3, 4]);
    expect(progress.map((e) => e.stageIterations)).toEqual([1, 4, 4, 4, 4]);
    expect(new Set(progress.map((e) => e.iterations))).toEqual(new Set([total]));
    // Each stage says where it starts.
    expect(started).toEqual([0, 1]);
  });

  it('count across the whole-image pass and every tile of a tiled render', async () => {
    let tiles = 0;
    const { progress, started } = await record({ tile: 40, tileOverlapPx: 8, onPlan: (plan) => void (tiles = plan.mode === 'tiled' ? plan.tiles : 0) });
    expect(tiles).toBeGreaterThan(1);
    const total = settings.iterations * (1 + tiles);
    expect(progress.map((e) => e.iteration)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(progress.every((e) => e.iterations === total)).toBe(true);
    expect(started).toEqual(Array.from({ length: 1 + tiles }, (_, i) => i * settings.iterations));
  });

  it('go on from a resumed stage where the interrupted run stopped', async () => {
    // Stop after the second iteration of the last scale, keeping its snapshot; resume from it.
    let saved: RenderState | null = null;
    const controller = new RunController();
    const sink: CheckpointSink<RenderState> = { due: () => true, save: (state) => void (saved = state) };
    await renderStyleTransfer({ weights, content, styles }, settings, {
      scales: 2,
      tile: 'off',
      memoryLimitBytes: 4 * GiB,
      controller,
      checkpoint: sink,
      onEvent: (event) => void (event.type === 'progress' && event.iteration === 3 && controller.stop()),
    });
    expect(saved).not.toBeNull();
    const { progress, started } = await record({ scales: 2, resume: saved! });
    expect(started).toEqual([3]);
    expect(progress.map((e) => e.iteration)).toEqual([4, 5]);
    expect(progress.map((e) => e.stageIteration)).toEqual([3, 4]);
  });
});
