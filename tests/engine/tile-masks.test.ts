// Masks through tiles: each tile's masks are the crops of the output-size masks, a style whose crop the deepest style
// layer does not see (and an all-zero content crop) is dropped from that tile, per-style targets given to the
// objective equal its own, and a tiled masked render runs with those terms (random weights, small sizes).

import { describe, expect, it } from 'vitest';
import { cropMask, outputMasks, tileMasks } from '../../src/engine/render/tiles/tile-masks.js';
import { planTiles } from '../../src/engine/render/tiles/layout.js';
import { blockwiseStats } from '../../src/engine/render/tiles/stats.js';
import { runTiled } from '../../src/engine/render/tiles/run.js';
import { renderStyleTransfer, type RenderState } from '../../src/engine/render/render.js';
import { resizeMask, type Mask } from '../../src/engine/io/mask.js';
import { noiseImage, type PlanarImage } from '../../src/engine/io/image.js';
import { StyleObjective, type LossBreakdown } from '../../src/engine/model/objective.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';

const LAYERS = ['block1_conv1', 'block2_conv1', 'block3_conv1'];

/** A width × height mask: `value(x, y)` at each pixel. */
function maskOf(width: number, height: number, value: (x: number, y: number) => number): Mask {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = value(x, y);
  return { width, height, data };
}

describe('cropMask', () => {
  it('is the rectangle of the mask, row by row', () => {
    const mask = maskOf(7, 5, (x, y) => (10 * y + x) / 100);
    const crop = cropMask(mask, { x: 2, y: 1, width: 4, height: 3 });
    expect([crop.width, crop.height]).toEqual([4, 3]);
    expect(Array.from(crop.data, (v) => Math.round(v * 100))).toEqual([12, 13, 14, 15, 22, 23, 24, 25, 32, 33, 34, 35]);
    expect(Array.from(cropMask(mask, { x: 0, y: 0, width: 7, height: 5 }).data)).toEqual(Array.from(mask.data));
  });

  it('refuses a rectangle that leaves the mask', () => {
    expect(() => cropMask(maskOf(7, 5, () => 1), { x: 4, y: 0, width: 4, height: 5 })).toThrow(/The crop 4x5\+4\+0 leaves the 7x5 mask/);
    expect(() => cropMask(maskOf(7, 5, () => 1), { x: 0, y: -1, width: 2, height: 2 })).toThrow(RangeError);
  });
});

describe('tileMasks', () => {
  // 64 x 64 output, four 40-px tiles overlapping by 16; masks given at 32 x 32 (resized to the output first).
  const tiles = planTiles(64, 64, 40, 16);
  const top = maskOf(32, 32, (_x, y) => (y < 8 ? 1 : 0));
  const all = maskOf(32, 32, () => 0.5);
  const left = maskOf(32, 32, (x) => (x < 8 ? 1 : 0));

  it('gives each tile the crops of the output-size masks', () => {
    const full = outputMasks({ styles: [top, all], content: left }, 64, 64);
    expect(full.styles.map((m) => [m.width, m.height])).toEqual([[64, 64], [64, 64]]);
    expect(Array.from(full.styles[0]!.data)).toEqual(Array.from(resizeMask(top, 64, 64).data));
    const first = tileMasks(full, tiles[0]!, LAYERS);
    expect(first.styles).toEqual([0, 1]);
    expect(first.content).toBe(true);
    for (const [k, crop] of first.masks!.styles!.entries()) expect(Array.from(crop.data)).toEqual(Array.from(cropMask(full.styles[k]!, tiles[0]!).data));
    expect(Array.from(first.masks!.content!.data)).toEqual(Array.from(cropMask(full.content!, tiles[0]!).data));
  });

  it('drops a style whose crop is all 0 and an all-zero content crop, keeping the rest in style order', () => {
    const full = outputMasks({ styles: [top, all], content: left }, 64, 64);
    // The bottom-right tile (24..63 both ways): the top band and the left band do not reach it.
    const last = tiles.at(-1)!;
    expect([last.x, last.y]).toEqual([24, 24]);
    const cut = tileMasks(full, last, LAYERS);
    expect(cut.styles).toEqual([1]);
    expect(cut.content).toBe(false);
    expect(cut.masks!.styles!.length).toBe(1);
    expect(Array.from(cut.masks!.styles![0]!.data)).toEqual(Array.from(cropMask(full.styles[1]!, last).data));
    expect(cut.masks!.content).toBeUndefined();
  });

  it('drops a style whose crop lies only in the columns the deepest style layer\'s pools drop', () => {
    // A 42-px-wide tile: block3_conv1 sees the first 40 columns (two pools); a region only in columns 40–41 is unseen.
    const edge = maskOf(42, 42, (x) => (x >= 40 ? 1 : 0));
    const full = outputMasks({ styles: [edge, maskOf(42, 42, () => 1)] }, 42, 42);
    const rect = { x: 0, y: 0, width: 42, height: 42 };
    expect(tileMasks(full, rect, LAYERS).styles).toEqual([1]);
    // block1 alone sees every column: the style stays.
    expect(tileMasks(full, rect, ['block1_conv1']).styles).toEqual([0, 1]);
  });

  it('without style masks says nothing of styles (every style, blended, as in a render without masks)', () => {
    const cut = tileMasks(outputMasks({ content: left }, 64, 64), tiles[0]!, LAYERS);
    expect(cut.styles).toBeNull();
    expect(cut.masks?.styles).toBeUndefined();
    expect(cut.masks?.content).toBeDefined();
  });
});

describe('masks in tiles (random weights)', () => {
  const weights = randomVgg19Weights({ seed: 7 });
  const styles = [noiseImage(48, 48, 11), noiseImage(40, 40, 14)];
  const content = noiseImage(48, 48, 12);

  it('per-style Grams given to the objective (guidedTargets) give the loss it computes from the style images', async () => {
    const masks = { styles: [maskOf(48, 48, (_x, y) => (y < 24 ? 1 : 0)), maskOf(48, 48, (_x, y) => (y < 24 ? 0 : 1))] };
    const shape = (images: PlanarImage[]) => objectiveShape(content, { styleLayers: LAYERS, contentLayers: ['block2_conv2'], pool: 'max' }, images);
    const execution = resolveExecution({ device: 'cpu', threads: 2 }, shape(styles));
    const guidedTargets = new Map<string, Float32Array[]>(LAYERS.map((l) => [l, []]));
    for (const style of styles) {
      const { grams } = await blockwiseStats(weights, style, { styleLayers: LAYERS, contentLayers: [], pool: 'max', blockPx: 64, execution });
      for (const l of LAYERS) guidedTargets.get(l)!.push(grams.get(l)!);
    }
    const common = { weights, width: 48, height: 48, pool: 'max' as const, styleLayers: LAYERS, contentLayers: ['block2_conv2'], contentImage: content, styleWeight: 1, contentWeight: 1, tvWeight: 0.1, normalize: true, masks };
    const own = await StyleObjective.create({ ...common, styleImages: styles, execution });
    const given = await StyleObjective.create({ ...common, styleImages: [], guidedTargets, execution: resolveExecution({ device: 'cpu', threads: 2 }, shape([])) });
    try {
      const x = noiseImage(48, 48, 13).data;
      const a = await own.evaluate(x, new Float32Array(x.length));
      const b = await given.evaluate(x, new Float32Array(x.length));
      expect(b.total / a.total).toBeCloseTo(1, 5);
      for (const l of LAYERS) expect(b.style[l]! / a.style[l]!).toBeCloseTo(1, 5);
    } finally {
      await own.dispose();
      await given.dispose();
    }
    await expect(StyleObjective.create({ ...common, masks: { styles: [masks.styles[0]!] }, styleImages: [], guidedTargets, execution })).rejects.toThrow(/1 style mask for 2 style images/);
    await expect(StyleObjective.create({ ...common, masks: {}, styleImages: [], guidedTargets, execution })).rejects.toThrow(/Per-style targets are for style masks/);
  });

  it('a tiled render with masks: each tile optimises the terms its crops leave, and the image is whole', async () => {
    // 64 x 64 in four 40-px tiles: style 1 only in the top 12 rows (the bottom tiles start at row 24: dropped
    // there), style 2 everywhere, the photo kept on the left 12 columns only (the right tiles lose their content term).
    const top = maskOf(64, 64, (_x, y) => (y < 12 ? 1 : 0));
    const all = maskOf(64, 64, () => 1);
    const left = maskOf(64, 64, (x) => (x < 12 ? 1 : 0));
    const tileLosses: LossBreakdown[] = [];
    const result = await runTiled(
      { weights, content: noiseImage(64, 64, 21), styles, masks: { styles: [top, all], content: left } },
      { ...DEFAULT_RUN_SETTINGS, styleLayers: LAYERS, contentLayers: ['block2_conv2'], iterations: 3, device: 'cpu', threads: 2, optimizer: 'lbfgs' },
      {
        tilePx: 40, overlapPx: 16, coherencePx: 32, scales: 'off',
        onEvent: (event, phase) => {
          if (phase.phase === 'tile' && event.type === 'progress' && event.stageIteration === 1) tileLosses[phase.index] = event.loss;
        },
      },
    );
    expect([result.image.width, result.image.height]).toEqual([64, 64]);
    expect(result.tiles.length).toBe(4);
    expect(result.image.data.every(Number.isFinite)).toBe(true);
    expect(tileLosses.length).toBe(4);
    for (const loss of tileLosses) {
      expect(Number.isFinite(loss.total)).toBe(true);
      // Style 2 covers every tile: every tile has its style layers.
      expect(Object.keys(loss.style).sort()).toEqual(LAYERS);
    }
    // Content term: only the left tiles see the kept columns.
    expect(tileLosses.map((l) => Object.keys(l.content))).toEqual([['block2_conv2'], [], ['block2_conv2'], []]);
  }, 60_000);

  it('a tile its crops leave no term keeps the image it started from; the others are optimised', async () => {
    // One style, only in the left 12 columns; no content layers: the right tiles have nothing to optimise.
    const left = maskOf(64, 64, (x) => (x < 12 ? 1 : 0));
    const painted = new Set<number>();
    let afterFirst: PlanarImage | null = null;
    const result = await runTiled(
      { weights, content: noiseImage(64, 64, 21), styles: [styles[0]!], masks: { styles: [left] } },
      { ...DEFAULT_RUN_SETTINGS, styleLayers: LAYERS, contentLayers: [], iterations: 2, device: 'cpu', threads: 2, optimizer: 'lbfgs' },
      {
        tilePx: 40, overlapPx: 16, coherencePx: 32, scales: 'off',
        onEvent: (event, phase) => {
          if (phase.phase === 'tile' && event.type === 'started') painted.add(phase.index);
        },
        onTile: (image, _rect, index) => {
          if (index === 0) afterFirst = image;
        },
      },
    );
    expect([...painted]).toEqual([0, 2]);
    expect(result.tiles.length).toBe(4);
    expect(result.image.data.every(Number.isFinite)).toBe(true);
    // Columns 40–63 only the skipped right tiles cover: after every tile they are still the whole-image pass, as the
    // canvas showed them before any tile reached them.
    const before = afterFirst! as PlanarImage;
    let largest = 0;
    let moved = 0;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 64; x++) {
          const i = (c * 64 + y) * 64 + x;
          const change = Math.abs(result.image.data[i]! - before.data[i]!);
          if (x >= 40) largest = Math.max(largest, change);
          else if (y >= 40) moved = Math.max(moved, change);
        }
      }
    }
    expect(largest).toBeLessThan(1e-3);
    // The bottom-left tile was optimised: its own rows changed.
    expect(moved).toBeGreaterThan(0.1);
  }, 60_000);

  it('a tiled render with masks plans tiles (no longer refused) and its checkpoints carry the masks, pass and tiles alike', async () => {
    const masks = { styles: [maskOf(32, 32, (_x, y) => (y < 16 ? 1 : 0)), maskOf(32, 32, (_x, y) => (y < 16 ? 0 : 1))] };
    const states: RenderState[] = [];
    const result = await renderStyleTransfer(
      { weights, content: noiseImage(64, 64, 21), styles, masks },
      { ...DEFAULT_RUN_SETTINGS, styleLayers: LAYERS, contentLayers: ['block2_conv2'], iterations: 2, device: 'cpu', threads: 2, optimizer: 'lbfgs' },
      { scales: 'off', tile: 40, tileOverlapPx: 16, memoryLimitBytes: 64 * 2 ** 30, checkpoint: { due: () => true, save: (state) => void states.push(state) } },
    );
    expect(result.plan).toMatchObject({ mode: 'tiled', tilePx: 40, tiles: 4 });
    expect(new Set(states.map((s) => s.phase))).toEqual(new Set(['coherence', 'tile']));
    for (const state of states) expect(state.masks).toBe(masks);
  }, 60_000);
});
