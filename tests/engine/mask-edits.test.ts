// Mask edits mid-run (RunController.setMasks): an edit the run cannot use is refused in its 'masks' event and the run
// goes on with its masks; in a tiled render an edit reaches the tile under way (its crop) and every later tile
// (random weights, small sizes).

import { describe, expect, it } from 'vitest';
import { RunController, runStyleTransfer, type RenderEvent } from '../../src/engine/render/run.js';
import { runTiled } from '../../src/engine/render/tiles/run.js';
import type { Mask } from '../../src/engine/io/mask.js';
import { noiseImage } from '../../src/engine/io/image.js';
import type { LossBreakdown } from '../../src/engine/model/objective.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';

const LAYERS = ['block1_conv1', 'block2_conv1', 'block3_conv1'];
const weights = randomVgg19Weights({ seed: 7 });
const styles = [noiseImage(40, 40, 11), noiseImage(36, 36, 14)];

function maskOf(width: number, height: number, value: (x: number, y: number) => number): Mask {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = value(x, y);
  return { width, height, data };
}

type MasksEvent = Extract<RenderEvent, { type: 'masks' }>;

describe('a mask edit mid-run', () => {
  // 30 rows: block3_conv1 (two pools) sees rows 0–27; rows 28–29 are dropped by the pools' floor.
  const W = 32;
  const H = 30;
  const top = maskOf(W, H, (_x, y) => (y < 15 ? 1 : 0));
  const bottom = maskOf(W, H, (_x, y) => (y < 15 ? 0 : 1));
  const settings = { ...DEFAULT_RUN_SETTINGS, styleLayers: LAYERS, contentLayers: ['block2_conv2'], iterations: 5, device: 'cpu' as const, threads: 2, optimizer: 'adam' as const };

  it('is refused with a sentence when its region lies only in rows the pools drop; the run keeps its masks and finishes', async () => {
    const controller = new RunController();
    const events: MasksEvent[] = [];
    const losses: LossBreakdown[] = [];
    const unseen = maskOf(W, H, (_x, y) => (y >= 28 ? 1 : 0));
    const result = await runStyleTransfer({ weights, content: noiseImage(W, H, 3), styles, masks: { styles: [top, bottom] } }, settings, {
      controller,
      onEvent: (event) => {
        if (event.type === 'masks') events.push(event);
        if (event.type !== 'progress') return;
        losses.push(event.loss);
        // After iteration 2 a refused edit, after iteration 3 a usable one.
        if (event.iteration === 2) controller.setMasks({ styles: [unseen, bottom] });
        if (event.iteration === 3) controller.setMasks({ styles: [bottom, top] });
      },
    });
    expect(result.iterations).toBe(5);
    expect(result.stop.kind).toBe('cap');
    expect(events.map((e) => [e.iteration, e.refused === null])).toEqual([[2, false], [3, true]]);
    expect(events[0]!.refused).toMatch(/Style mask 1 covers only the last rows or columns of the 32x30 image, which block3_conv1 never sees/);
    expect(events[0]!.masks.styles![0]).toBe(unseen);
    expect(losses.every((l) => Number.isFinite(l.total))).toBe(true);
  }, 30_000);

  it('of another kind than the graph\'s is refused the same way (no content mask input)', async () => {
    const controller = new RunController();
    const events: MasksEvent[] = [];
    const result = await runStyleTransfer({ weights, content: noiseImage(W, H, 3), styles, masks: { styles: [top, bottom] } }, { ...settings, iterations: 3 }, {
      controller,
      onEvent: (event) => {
        if (event.type === 'masks') events.push(event);
        if (event.type === 'progress' && event.iteration === 1) controller.setMasks({ styles: [top, bottom], content: top });
      },
    });
    expect(result.iterations).toBe(3);
    expect(events.map((e) => e.refused)).toEqual([expect.stringMatching(/built for 2 style masks and no content mask, not 2 style masks and a content mask/)]);
  }, 30_000);
});

describe('mask edits in a tiled render', () => {
  // 64 x 64 in four 40-px tiles (order: top-left, top-right, bottom-left, bottom-right), one iteration pass at 32 px.
  const all = maskOf(64, 64, () => 1);
  const left = maskOf(64, 64, (x) => (x < 12 ? 1 : 0));
  const right = maskOf(64, 64, (x) => (x >= 52 ? 1 : 0));
  const settings = { ...DEFAULT_RUN_SETTINGS, styleLayers: LAYERS, contentLayers: ['block2_conv2'], iterations: 2, device: 'cpu' as const, threads: 2, optimizer: 'adam' as const };
  const tiled = { tilePx: 40, overlapPx: 16, coherencePx: 32, scales: 'off' as const };

  async function render(edit: (controller: RunController, event: RenderEvent, tile: number | null) => void) {
    const controller = new RunController();
    const events: { event: MasksEvent; tile: number | null }[] = [];
    const contentTerms: string[][] = [];
    const result = await runTiled({ weights, content: noiseImage(64, 64, 21), styles: [styles[0]!], masks: { styles: [all], content: left } }, settings, {
      ...tiled,
      controller,
      onEvent: (event, phase) => {
        const tile = phase.phase === 'tile' ? phase.index : null;
        if (event.type === 'masks') events.push({ event, tile });
        if (tile !== null && event.type === 'progress' && event.stageIteration === 1) contentTerms[tile] = Object.keys(event.loss.content);
        edit(controller, event, tile);
      },
    });
    return { result, events, contentTerms };
  }

  it('reaches every tile after the edit: the photo kept on the right instead of the left', async () => {
    // Without an edit the content term is in the left tiles only; the edit, made as tile 1 starts, moves it right.
    const { result, events, contentTerms } = await render((controller, event, tile) => {
      if (tile === 0 && event.type === 'progress' && event.stageIteration === 2) controller.setMasks({ styles: [all], content: right });
    });
    expect(result.tiles.length).toBe(4);
    expect(result.image.data.every(Number.isFinite)).toBe(true);
    expect(events.map((e) => [e.tile, e.event.refused])).toEqual([[1, null]]);
    expect(contentTerms).toEqual([['block2_conv2'], ['block2_conv2'], [], ['block2_conv2']]);
  }, 60_000);

  it('an edit during a tile is taken there (its crop, same terms) and by the later tiles; an unusable one is refused and the render goes on', async () => {
    const black = maskOf(64, 64, () => 0);
    const { result, events, contentTerms } = await render((controller, event, tile) => {
      if (event.type !== 'progress' || event.stageIteration !== 1) return;
      // In tile 0: content kept everywhere (its crop keeps tile 0's terms: taken at its next iteration).
      if (tile === 0) controller.setMasks({ styles: [all], content: all });
      // In tile 2: a black style mask (refused), then nothing: tile 3 keeps the masks of the edit before.
      if (tile === 2) controller.setMasks({ styles: [black], content: left });
    });
    expect(result.tiles.length).toBe(4);
    expect(events.map((e) => [e.tile, e.event.refused === null])).toEqual([[0, true], [2, false]]);
    expect(events[1]!.event.refused).toMatch(/Style mask 1 is black everywhere/);
    // Tile 0 started with the left band; the later tiles crop the edit (content everywhere) and keep it after the refusal.
    expect(contentTerms).toEqual([['block2_conv2'], ['block2_conv2'], ['block2_conv2'], ['block2_conv2']]);
  }, 60_000);

  it('refuses another kind of masks than the render started with', async () => {
    const { result, events } = await render((controller, event, tile) => {
      if (tile === 0 && event.type === 'progress' && event.stageIteration === 1) controller.setMasks({ styles: [all] });
    });
    expect(result.tiles.length).toBe(4);
    expect(events.map((e) => e.event.refused)).toEqual([expect.stringMatching(/started with 1 style mask and a content mask, not 1 style mask and no content mask/)]);
  }, 60_000);
});
