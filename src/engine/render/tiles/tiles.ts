// Tiled rendering for outputs larger than memory allows: a whole-image pass, then overlapping tiles blended in.

import { buildFeatureGraph, io } from '../../model/graph/vgg-graph.js';
import type { PoolKind } from '../../settings.js';
import { GraphSession, type SessionOptions } from '../../model/runtime/session.js';
import { resizeImage } from '../../io/image.js';
import { normaliseBlend, totalVariation, type LossBreakdown } from '../../model/objective.js';
import type { PlanarImage } from '../../io/image.js';
import { resizeLongest, runMultiScale, type ScalesOption, type StageState } from '../multiscale.js';
import { mapCheckpointSink, runStyleTransfer, type CheckpointSink, type RunController, type RunEvent, type RunResult, type RunSettings } from '../run.js';
import { canonicalLayerName } from '../../model/vgg19.js';
import type { Vgg19Weights } from '../../weights/types.js';
import { NstError } from '../../errors.js';

export interface TileRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly row: number;
  readonly col: number;
  /** Overlap with the tile to the left / above / right / below (0 at the image's edges): the feather ramps' lengths. */
  readonly rampLeft: number;
  readonly rampTop: number;
  readonly rampRight: number;
  readonly rampBottom: number;
}

/** Where along one axis equal tiles of `tile` px start so that neighbours overlap by at least `overlap` px. */
function axisStarts(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  const count = Math.ceil((length - overlap) / (tile - overlap));
  return Array.from({ length: count }, (_, i) => Math.round((i * (length - tile)) / (count - 1)));
}

/**
 * Equal tiles (so every tile has one graph shape) of `tilePx` square, or the image's side where it is smaller,
 * covering the image row by row with overlaps of at least `overlapPx`; the last tile of a row or column is pulled
 * back to end at the edge, which spreads the extra overlap evenly.
 */
export function planTiles(width: number, height: number, tilePx: number, overlapPx: number): TileRect[] {
  for (const [label, value] of [['width', width], ['height', height], ['tilePx', tilePx]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${label} must be a whole number ≥ 1, got ${value}.`);
  }
  if (!Number.isInteger(overlapPx) || overlapPx < 0 || overlapPx >= tilePx / 2) {
    throw new RangeError(`overlapPx must be a whole number from 0 to below half the tile (${tilePx / 2}), got ${overlapPx}.`);
  }
  const tileW = Math.min(tilePx, width);
  const tileH = Math.min(tilePx, height);
  const xs = axisStarts(width, tileW, overlapPx);
  const ys = axisStarts(height, tileH, overlapPx);
  const tiles: TileRect[] = [];
  ys.forEach((y, row) => {
    xs.forEach((x, col) => {
      tiles.push({
        x, y, width: tileW, height: tileH, row, col,
        rampLeft: col > 0 ? xs[col - 1]! + tileW - x : 0,
        rampTop: row > 0 ? ys[row - 1]! + tileH - y : 0,
        rampRight: col + 1 < xs.length ? x + tileW - xs[col + 1]! : 0,
        rampBottom: row + 1 < ys.length ? y + tileH - ys[row + 1]! : 0,
      });
    });
  });
  return tiles;
}

/**
 * Weight of the later tile at position i of an overlap `length` px long: 0 over the outer quarter, a linear ramp
 * over the middle half, 1 over the inner quarter. The earlier tile gets 1 minus this, so the two always sum to 1;
 * neither tile's edge band, where zero padding skews its features, counts, and the band where two different
 * textures are averaged (and lose contrast) is only half the overlap.
 */
function rampIn(i: number, length: number): number {
  if (i >= length) return 1;
  const margin = Math.floor(length / 4);
  return Math.min(1, Math.max(0, (i - margin + 1) / (length - 2 * margin + 1)));
}

/** One axis: ramps in over the overlap with the previous tile, out (complementary to the next tile's) over the next. */
function axisWeight(i: number, size: number, before: number, after: number): number {
  const out = after > 0 && i >= size - after ? 1 - rampIn(i - (size - after), after) : 1;
  return rampIn(i, before) * out;
}

/**
 * The tile's blend weight per pixel: the product of its two axes' ramps. Over the tile grid these weights sum to 1
 * at every pixel (each axis is a partition of unity), so the blended image is a weighted mean of the tiles.
 */
export function featherAlpha(tile: TileRect): Float32Array {
  const alpha = new Float32Array(tile.width * tile.height);
  for (let y = 0; y < tile.height; y++) {
    const ay = axisWeight(y, tile.height, tile.rampTop, tile.rampBottom);
    for (let x = 0; x < tile.width; x++) alpha[y * tile.width + x] = ay * axisWeight(x, tile.width, tile.rampLeft, tile.rampRight);
  }
  return alpha;
}

export function cropImage(image: PlanarImage, rect: { x: number; y: number; width: number; height: number }): PlanarImage {
  const { x, y, width, height } = rect;
  if (x < 0 || y < 0 || x + width > image.width || y + height > image.height) {
    throw new RangeError(`The crop ${width}x${height}+${x}+${y} leaves the ${image.width}x${image.height} image.`);
  }
  const data = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let row = 0; row < height; row++) {
      const from = (c * image.height + y + row) * image.width + x;
      data.set(image.data.subarray(from, from + width), (c * height + row) * width);
    }
  }
  return { width, height, data };
}

/**
 * Blends tiles into one image: Σ w_t·tile_t over the tiles so far, plus (1 − Σ w_t) of the base (the upsampled
 * whole-image pass) where they do not yet cover. A tile starts from this image, so it meets its finished
 * neighbours' texture and, beyond their ramps, the base, with no step in between.
 */
export class TileCompositor {
  private readonly sum: Float32Array;
  private readonly coverage: Float32Array;

  constructor(private readonly base: PlanarImage) {
    this.sum = new Float32Array(base.data.length);
    this.coverage = new Float32Array(base.width * base.height);
  }

  /** A copy of everything blended so far, for a checkpoint. */
  getState(): CompositorState {
    return { width: this.base.width, height: this.base.height, base: Float32Array.from(this.base.data), sum: Float32Array.from(this.sum), coverage: Float32Array.from(this.coverage) };
  }

  /** The compositor a getState() came from (the arrays are copied in). */
  static fromState(state: CompositorState): TileCompositor {
    const { width, height } = state;
    const pixels = width * height;
    if (state.base.length !== 3 * pixels || state.sum.length !== 3 * pixels || state.coverage.length !== pixels) {
      throw new NstError('BAD_ARGUMENT', `The tile canvas state does not describe a ${width}x${height} image (base ${state.base.length}, sum ${state.sum.length}, coverage ${state.coverage.length} values).`);
    }
    const compositor = new TileCompositor({ width, height, data: Float32Array.from(state.base) });
    compositor.sum.set(state.sum);
    compositor.coverage.set(state.coverage);
    return compositor;
  }

  add(tile: PlanarImage, rect: TileRect, alpha: Float32Array = featherAlpha(rect)): void {
    const { width, height } = this.base;
    if (tile.width !== rect.width || tile.height !== rect.height) {
      throw new RangeError(`The tile is ${tile.width}x${tile.height}, its rectangle ${rect.width}x${rect.height}.`);
    }
    for (let row = 0; row < rect.height; row++) {
      for (let col = 0; col < rect.width; col++) this.coverage[(rect.y + row) * width + rect.x + col]! += alpha[row * rect.width + col]!;
    }
    for (let c = 0; c < 3; c++) {
      for (let row = 0; row < rect.height; row++) {
        const to = (c * height + rect.y + row) * width + rect.x;
        const from = (c * rect.height + row) * rect.width;
        for (let col = 0; col < rect.width; col++) this.sum[to + col]! += alpha[row * rect.width + col]! * tile.data[from + col]!;
      }
    }
  }

  /** The blended image so far (a new buffer). */
  image(): PlanarImage {
    const { width, height } = this.base;
    const pixels = width * height;
    const data = new Float32Array(this.sum.length);
    for (let i = 0; i < data.length; i++) data[i] = this.sum[i]! + (1 - Math.min(1, this.coverage[i % pixels]!)) * this.base.data[i]!;
    return { width, height, data };
  }
}

export interface CompositorState {
  readonly width: number;
  readonly height: number;
  readonly base: Float32Array;
  readonly sum: Float32Array;
  readonly coverage: Float32Array;
}

/** The interior tile edges: where a hard paste would show its seams. */
export function tileSeams(tiles: readonly TileRect[], width: number, height: number): { columns: number[]; rows: number[] } {
  const columns = new Set<number>();
  const rows = new Set<number>();
  for (const t of tiles) {
    for (const x of [t.x, t.x + t.width]) if (x > 0 && x < width) columns.add(x);
    for (const y of [t.y, t.y + t.height]) if (y > 0 && y < height) rows.add(y);
  }
  return { columns: [...columns].sort((a, b) => a - b), rows: [...rows].sort((a, b) => a - b) };
}

/**
 * Mean |difference| between neighbouring pixels across the seams (column c: pixels c−1 and c; row r likewise)
 * against the mean over every other neighbouring pair: a ratio near 1 means no visible seam.
 */
export function seamGradientRatio(image: PlanarImage, seams: { columns: readonly number[]; rows: readonly number[] }): { seam: number; elsewhere: number; ratio: number } {
  const { width, height, data } = image;
  const seamColumns = new Set(seams.columns);
  const seamRows = new Set(seams.rows);
  // [sum, count] across seams and elsewhere.
  const seam = [0, 0];
  const other = [0, 0];
  const add = (atSeam: boolean, d: number): void => {
    const acc = atSeam ? seam : other;
    acc[0]! += d;
    acc[1]! += 1;
  };
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const row = (c * height + y) * width;
      for (let x = 1; x < width; x++) add(seamColumns.has(x), Math.abs(data[row + x]! - data[row + x - 1]!));
      if (y > 0) for (let x = 0; x < width; x++) add(seamRows.has(y), Math.abs(data[row + x]! - data[row + x - width]!));
    }
  }
  const atSeams = seam[1]! > 0 ? seam[0]! / seam[1]! : 0;
  const elsewhere = other[1]! > 0 ? other[0]! / other[1]! : 0;
  return { seam: atSeams, elsewhere, ratio: elsewhere > 0 ? atSeams / elsewhere : atSeams > 0 ? Infinity : 1 };
}

export interface BlockwiseStats {
  /** Gram of each style layer over the whole image: Σ_b N_b·G_b / Σ_b N_b over the blocks b. */
  readonly grams: Map<string, Float32Array>;
  /** mean(P_l²) of each content layer's features over the whole image. */
  readonly contentMeanSquare: Map<string, number>;
}

/**
 * Whole-image Grams and content-feature magnitudes computed block by block (non-overlapping blocks of at most
 * `blockPx`), so memory is bounded by one block's forward pass. A Gram is a mean over positions, so the blocks'
 * Grams weighted by their positions give the whole image's, up to the zero padding at block edges.
 */
export async function blockwiseStats(
  weights: Vgg19Weights,
  image: PlanarImage,
  options: { styleLayers: readonly string[]; contentLayers: readonly string[]; pool: PoolKind; blockPx: number; session?: SessionOptions },
): Promise<BlockwiseStats> {
  const styleLayers = [...new Set(options.styleLayers.map(canonicalLayerName))];
  const contentLayers = [...new Set(options.contentLayers.map(canonicalLayerName))];
  const edges = (length: number): number[] => {
    const count = Math.ceil(length / options.blockPx);
    return Array.from({ length: count + 1 }, (_, i) => Math.round((i * length) / count));
  };
  const xs = edges(image.width);
  const ys = edges(image.height);
  const sessions = new Map<string, { session: GraphSession; graph: ReturnType<typeof buildFeatureGraph> }>();
  const gramSums = new Map<string, Float64Array>();
  const positions = new Map<string, number>();
  const squareSums = new Map<string, number>();
  const counts = new Map<string, number>();
  try {
    for (let by = 0; by + 1 < ys.length; by++) {
      for (let bx = 0; bx + 1 < xs.length; bx++) {
        const block = cropImage(image, { x: xs[bx]!, y: ys[by]!, width: xs[bx + 1]! - xs[bx]!, height: ys[by + 1]! - ys[by]! });
        const key = `${block.width}x${block.height}`;
        let entry = sessions.get(key);
        if (!entry) {
          const graph = buildFeatureGraph({ width: block.width, height: block.height, styleLayers, contentLayers, pool: options.pool, weights });
          entry = { graph, session: await GraphSession.create(graph.bytes, { ...options.session, device: 'cpu' }) };
          sessions.set(key, entry);
        }
        const out = await entry.session.run({ [io.image]: entry.session.tensor(block.data, [1, 3, block.height, block.width]) });
        for (const shape of entry.graph.styleLayers) {
          const n = shape.height * shape.width;
          const gram = out[io.gram(shape.layer)]!.data as Float32Array;
          let sum = gramSums.get(shape.layer);
          if (!sum) gramSums.set(shape.layer, (sum = new Float64Array(gram.length)));
          for (let i = 0; i < gram.length; i++) sum[i]! += n * gram[i]!;
          positions.set(shape.layer, (positions.get(shape.layer) ?? 0) + n);
        }
        for (const shape of entry.graph.contentLayers) {
          const features = out[io.features(shape.layer)]!.data as Float32Array;
          let acc = 0;
          for (const v of features) acc += v * v;
          squareSums.set(shape.layer, (squareSums.get(shape.layer) ?? 0) + acc);
          counts.set(shape.layer, (counts.get(shape.layer) ?? 0) + features.length);
        }
      }
    }
  } finally {
    for (const { session } of sessions.values()) await session.dispose();
  }
  const grams = new Map<string, Float32Array>();
  for (const [layer, sum] of gramSums) {
    const n = positions.get(layer)!;
    grams.set(layer, Float32Array.from(sum, (v) => (n > 0 ? v / n : 0)));
  }
  const contentMeanSquare = new Map<string, number>();
  for (const [layer, acc] of squareSums) contentMeanSquare.set(layer, acc / Math.max(counts.get(layer)!, 1));
  return { grams, contentMeanSquare };
}

/** Which part of a tiled (or plain) render an event belongs to. */
export interface RenderPhase {
  readonly phase: 'scale' | 'coherence' | 'tile';
  readonly index: number;
  readonly count: number;
  readonly sizePx: number;
}

export interface TiledOptions {
  readonly tilePx: number;
  readonly overlapPx: number;
  /** Longest side of the whole-image pass (coarse-to-fine by `scales`) the tiles start from. */
  readonly coherencePx: number;
  readonly scales: ScalesOption;
  readonly styleScale?: number;
  readonly controller?: RunController;
  readonly onEvent?: (event: RunEvent, phase: RenderPhase) => void;
  /** After each tile is blended in: the whole image so far (a fresh buffer, the caller's to keep). */
  readonly onTile?: (image: PlanarImage, tile: TileRect, index: number, count: number) => void;
  readonly checkpoint?: CheckpointSink<TiledState>;
  /** Continue from a snapshot: in the whole-image pass (at its scale), or at a tile with the tiles before it blended in. */
  readonly resume?: TiledState;
}

/**
 * A tiled render between two iterations: of the whole-image pass (`coherence`), or of tile `stage.index` with
 * the canvas as it was when that tile started. The canvas object is the same one for every snapshot of a tile,
 * so a checkpoint writer can tell it need not write it again.
 */
export type TiledState =
  | { readonly phase: 'coherence'; readonly stage: StageState }
  | { readonly phase: 'tile'; readonly stage: StageState; readonly canvas: CompositorState; readonly passInitialLoss: LossBreakdown };

export interface TiledResult extends RunResult {
  readonly tiles: readonly TileRect[];
}

/**
 * Renders `inputs.content`'s size in tiles: a whole-image pass at `coherencePx` (so the tiles agree on the
 * composition), upsampled, then each tile optimised from the image so far against the SAME style targets (the
 * whole style image's Grams at the output's scale, computed block by block) and its own content crop, and blended
 * in with feathered weights that sum to 1 (see TileCompositor). With `normalize`, the balance factors come from the
 * whole images too (style: the global Grams; content: mean(P²) over the whole content; TV: the whole content's), so
 * every tile weighs the terms alike; with several content layers the tiles share their mean factor. Losses of tiles are not comparable with a
 * whole-image run's: the result's initial loss is the pass's, the final loss the last tile's.
 */
export async function runTiled(
  inputs: { weights: Vgg19Weights; content: PlanarImage; styles: readonly PlanarImage[] },
  settings: RunSettings,
  options: TiledOptions,
): Promise<TiledResult> {
  const { width, height } = inputs.content;
  const longest = Math.max(width, height);
  const styleScale = options.styleScale ?? 1;
  const tiles = planTiles(width, height, options.tilePx, options.overlapPx);
  const session: SessionOptions = { device: settings.device ?? 'auto', threads: settings.threads ?? 0, backend: settings.backend ?? 'node' };

  const resume = options.resume;
  const sink = options.checkpoint;
  let compositor: TileCompositor;
  let passInitialLoss: LossBreakdown;
  let iterations: number;
  if (resume?.phase === 'tile') {
    if (!Number.isInteger(resume.stage.index) || resume.stage.index < 0 || resume.stage.index >= tiles.length) {
      throw new NstError('BAD_ARGUMENT', `The resume state is at tile ${resume.stage.index + 1}; this render has ${tiles.length} tiles.`);
    }
    if (resume.canvas.width !== width || resume.canvas.height !== height) {
      throw new NstError('BAD_ARGUMENT', `The resume state's canvas is ${resume.canvas.width}x${resume.canvas.height}; this render is ${width}x${height}.`);
    }
    compositor = TileCompositor.fromState(resume.canvas);
    passInitialLoss = resume.passInitialLoss;
    iterations = resume.stage.iterationsBefore;
  } else {
    const passContent = options.coherencePx < longest ? await resizeLongest(inputs.content, options.coherencePx) : inputs.content;
    const pass = await runMultiScale({ weights: inputs.weights, content: passContent, styles: inputs.styles }, settings, {
      scales: options.scales,
      styleScale,
      ...(options.controller ? { controller: options.controller } : {}),
      onEvent: (event, scale) => options.onEvent?.(event, { phase: 'coherence', index: scale.index, count: scale.count, sizePx: scale.sizePx }),
      ...(sink ? { checkpoint: mapCheckpointSink(sink, (stage: StageState): TiledState => ({ phase: 'coherence', stage })) } : {}),
      ...(resume ? { resume: resume.stage } : {}),
    });
    const base = await resizeImage(pass.image, width, height);
    if (pass.stopped) return { ...pass, image: base, tiles: [] };
    compositor = new TileCompositor(base);
    passInitialLoss = pass.initialLoss;
    iterations = pass.iterations;
  }

  // The style images at the output's scale (styleScale × its longest side), as a whole-image run would see them.
  const blend = normaliseBlend(settings.styleBlend, inputs.styles.length);
  const blockPx = Math.max(options.tilePx, 64);
  const styleTargets = new Map<string, Float32Array>();
  for (let s = 0; s < inputs.styles.length; s++) {
    const style = await resizeLongest(inputs.styles[s]!, Math.max(16, Math.round(longest * styleScale)));
    const { grams } = await blockwiseStats(inputs.weights, style, { styleLayers: settings.styleLayers, contentLayers: [], pool: settings.pool, blockPx, session });
    for (const [layer, gram] of grams) {
      const target = styleTargets.get(layer) ?? new Float32Array(gram.length);
      for (let i = 0; i < gram.length; i++) target[i]! += blend[s]! * gram[i]!;
      styleTargets.set(layer, target);
    }
  }
  // Tiles attach no images to their events: a tile is not the picture; onTile hands out the canvas instead.
  const tileSettings = { ...(settings.normalize ? await globallyBalanced(inputs, settings, styleTargets, blockPx, session) : settings), imageEvery: 0 };

  let last: RunResult | null = null;
  let done: TileRect[] = [];
  const firstTile = resume?.phase === 'tile' ? resume.stage.index : 0;
  for (let t = firstTile; t < tiles.length; t++) {
    const rect = tiles[t]!;
    const resumeRun = resume?.phase === 'tile' && t === firstTile ? resume.stage.run : undefined;
    const iterationsBefore = iterations;
    // One canvas copy per tile, shared by that tile's snapshots (made only when something checkpoints).
    let canvas: CompositorState | null = null;
    const result = await runStyleTransfer(
      { weights: inputs.weights, content: cropImage(inputs.content, rect), styles: [], startImage: cropImage(compositor.image(), rect).data, styleTargets, ...(resumeRun ? { resume: resumeRun } : {}) },
      tileSettings,
      {
        ...(options.controller ? { controller: options.controller } : {}),
        onEvent: (event) => options.onEvent?.(event, { phase: 'tile', index: t, count: tiles.length, sizePx: Math.max(rect.width, rect.height) }),
        ...(sink
          ? { checkpoint: mapCheckpointSink(sink, (run): TiledState => ({ phase: 'tile', stage: { index: t, iterationsBefore, run }, canvas: (canvas ??= compositor.getState()), passInitialLoss })) }
          : {}),
      },
    );
    compositor.add(result.image, rect);
    done = tiles.slice(0, t + 1);
    iterations += result.iterations;
    last = result;
    if (options.onTile) options.onTile(compositor.image(), rect, t, tiles.length);
    if (result.stopped) break;
  }
  if (!last) throw new NstError('RUNTIME_FAILURE', 'The tiled render ran no tile.');
  return { image: compositor.image(), iterations, initialLoss: passInitialLoss, finalLoss: last.finalLoss, stopped: last.stopped, device: last.device, tiles: done };
}

/** settings with `normalize` replaced by raw weights that carry the whole images' balance factors. */
async function globallyBalanced(
  inputs: { weights: Vgg19Weights; content: PlanarImage },
  settings: RunSettings,
  styleTargets: ReadonlyMap<string, Float32Array>,
  blockPx: number,
  session: SessionOptions,
): Promise<RunSettings> {
  const meanSquare = (values: Float32Array): number => values.reduce((a, v) => a + v * v, 0) / values.length;
  const userLayerWeights = new Map(Object.entries(settings.layerWeights ?? {}).map(([l, w]) => [canonicalLayerName(l), w]));
  const layerWeights: Record<string, number> = {};
  for (const [layer, gram] of styleTargets) layerWeights[layer] = (userLayerWeights.get(layer) ?? 1) / Math.max(meanSquare(gram), 1e-12);
  let contentFactor = 1;
  if (settings.contentLayers.length > 0) {
    const { contentMeanSquare } = await blockwiseStats(inputs.weights, inputs.content, { styleLayers: [], contentLayers: settings.contentLayers, pool: settings.pool, blockPx, session });
    const factors = [...contentMeanSquare.values()].map((m) => 1 / Math.max(m, 1e-12));
    contentFactor = factors.reduce((a, b) => a + b, 0) / factors.length;
  }
  const tv = totalVariation(inputs.content);
  if (!Number.isFinite(tv)) throw new NstError('BAD_ARGUMENT', 'The content image holds values that are not finite.');
  return {
    ...settings,
    normalize: false,
    layerWeights,
    contentWeight: settings.contentWeight * contentFactor,
    tvWeight: settings.tvWeight / Math.max(tv, 1e-6),
  };
}
