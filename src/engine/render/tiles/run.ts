// Tiled rendering for outputs larger than memory allows: a whole-image pass, then overlapping tiles blended in.

import type { Execution } from '../../model/runtime/runtime.js';
import { objectiveShape, resolveExecution } from '../execution.js';
import { resizeImage } from '../../io/image.js';
import { normaliseBlend, type LossBreakdown } from '../../model/objective.js';
import { contentBalance, guidedStyleBalance, styleBalance, totalVariation, tvBalance } from '../../model/balance.js';
import type { LossMasks } from '../../model/masks.js';
import { checkTemporal, cropTemporal, resizeTemporal, TEMPORAL_BALANCE, type TemporalTerm } from '../../model/temporal.js';
import type { PlanarImage } from '../../io/image.js';
import { multiScaleIterations, resizeLongest, runMultiScale, type ScalesOption, type StageState } from '../multiscale.js';
import { mapCheckpointSink, runStyleTransfer, type CheckpointSink, type RunController, type RenderEvent, type RunInputs, type RunResult, type RunSettings } from '../run.js';
import { canonicalLayerName } from '../../model/vgg19.js';
import type { Vgg19Weights } from '../../weights/types.js';
import { isNstError, NstError } from '../../errors.js';
import { TileCompositor, type CompositorState } from './compositor.js';
import { cropImage, planTiles, type TileRect } from './layout.js';
import { blockwiseStats } from './stats.js';
import { outputMasks, tileMasks, type OutputMasks } from './tile-masks.js';

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
  /** Events of the pass and every tile, iterations counted across all of them. */
  readonly onEvent?: (event: RenderEvent, phase: RenderPhase) => void;
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
 * whole-image run's: the result's initial loss is the pass's, the final loss the last tile's. With `converge`, the
 * pass's last scale and each tile stop when their own picture is done (a tile is the output's pixels; the time goes
 * there); the result's stop is the last tile's.
 *
 * Masks (docs/loss.md "Masks"): the pass takes them as a multi-scale run does; each tile takes them resized to the
 * output's size and cropped to its rectangle (tile-masks.ts), against each style image's whole Grams. A style whose
 * crop has no region the deepest style layer sees has no say in that tile, and an all-zero content crop frees the
 * photo there: those terms are dropped from the tile's objective; a tile left with no term keeps the image it
 * started from.
 *
 * Mask edits mid-run (RunController.setMasks, of the render's kind): in the pass as in any run; in the tiles each edit
 * is resized to the output's size once, and every later tile crops from it. The tile under way takes its crop at
 * its next iteration when the crop leaves it the same terms, else (a style gains or loses its region there) the edit
 * starts with the next tile. The 'masks' event says an edit was taken or, refused, why (the render keeps its masks).
 */
export async function runTiled(
  inputs: { weights: Vgg19Weights; content: PlanarImage; styles: readonly PlanarImage[]; masks?: LossMasks; temporal?: TemporalTerm },
  settings: RunSettings,
  options: TiledOptions,
): Promise<TiledResult> {
  const { width, height } = inputs.content;
  // Before the pass: a resumed tile never reaches the pass's check, and the tiles crop it blind.
  if (inputs.temporal) checkTemporal(inputs.temporal, inputs.content);
  const longest = Math.max(width, height);
  const styleScale = options.styleScale ?? 1;
  const tiles = planTiles(width, height, options.tilePx, options.overlapPx);
  const count = { before: 0, total: tiledIterations(settings.iterations, options.coherencePx, options.scales, tiles.length) };
  // The tiles' execution: its runtime and session options also serve the block statistics.
  const execution = resolveExecution(settings, objectiveShape(tiles[0]!, settings, []));

  const resume = options.resume;
  const sink = options.checkpoint;
  // The render's masks at the output's size: as given, then as edited mid-run (tiles crop from them).
  let masks: OutputMasks | null = inputs.masks && ((inputs.masks.styles?.length ?? 0) > 0 || inputs.masks.content) ? outputMasks(inputs.masks, width, height) : null;
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
    const passTemporal = inputs.temporal ? { temporal: resizeTemporal(inputs.temporal, inputs.content, passContent) } : {};
    const pass = await runMultiScale({ weights: inputs.weights, content: passContent, styles: inputs.styles, ...(inputs.masks ? { masks: inputs.masks } : {}), ...passTemporal }, settings, {
      scales: options.scales,
      styleScale,
      ...(options.controller ? { controller: options.controller } : {}),
      onEvent: (event, scale) => {
        // An edit the pass took is what the tiles crop from.
        if (event.type === 'masks' && event.refused === null && masks) masks = outputMasks(event.masks, width, height);
        options.onEvent?.(event, { phase: 'coherence', index: scale.index, count: scale.count, sizePx: scale.sizePx });
      },
      ...(sink ? { checkpoint: mapCheckpointSink(sink, (stage: StageState): TiledState => ({ phase: 'coherence', stage })) } : {}),
      ...(resume ? { resume: resume.stage } : {}),
      count,
    });
    const base = await resizeImage(pass.image, width, height);
    if (pass.stopped) return { ...pass, image: base, tiles: [] };
    compositor = new TileCompositor(base);
    passInitialLoss = pass.initialLoss;
    iterations = pass.iterations;
  }

  // The style images at the output's scale (styleScale × its longest side), as a whole-image run would see them:
  // blended into one target per layer, or with style masks each image its own.
  const blockPx = Math.max(options.tilePx, 64);
  const styleGrams = new Map<string, Float32Array[]>();
  for (const image of inputs.styles) {
    const style = await resizeLongest(image, Math.max(16, Math.round(longest * styleScale)));
    const { grams } = await blockwiseStats(inputs.weights, style, { styleLayers: settings.styleLayers, contentLayers: [], pool: settings.pool, blockPx, execution });
    for (const [layer, gram] of grams) styleGrams.set(layer, [...(styleGrams.get(layer) ?? []), gram]);
  }
  const guided = (masks?.styles.length ?? 0) > 0;
  const styleTargets = guided ? null : blendedTargets(styleGrams, normaliseBlend(settings.styleBlend, inputs.styles.length));
  const styleBalances = new Map([...styleGrams].map(([layer, grams]) => [layer, guided ? guidedStyleBalance(grams) : styleBalance(styleTargets!.get(layer)!)]));
  // Tiles attach no images to their events: a tile is not the picture; onTile hands out the canvas instead.
  const tileSettings = { ...(settings.normalize ? await globallyBalanced(inputs, settings, styleBalances, blockPx, execution) : settings), imageEvery: 0 };

  let last: RunResult | null = null;
  let done: TileRect[] = [];
  const firstTile = resume?.phase === 'tile' ? resume.stage.index : 0;
  for (let t = firstTile; t < tiles.length; t++) {
    const rect = tiles[t]!;
    const resumeRun = resume?.phase === 'tile' && t === firstTile ? resume.stage.run : undefined;
    const iterationsBefore = iterations;
    // One canvas copy per tile, shared by that tile's snapshots (made only when something checkpoints).
    let canvas: CompositorState | null = null;
    const start = cropImage(compositor.image(), rect);
    // An edit made since the last tile's last iteration: this tile's terms come from it.
    const pending = options.controller?.takeMasks();
    if (pending) {
      const refused = refusal(() => (masks = renderMasks(pending, masks, width, height)));
      options.onEvent?.({ type: 'masks', iteration: iterations, masks: pending, refused }, { phase: 'tile', index: t, count: tiles.length, sizePx: Math.max(rect.width, rect.height) });
    }
    const terms = tileTerms(masks, rect, tileSettings, styleTargets, styleGrams);
    // Each tile's crop of the term; its weight carries normalize's factor, as the tiles' settings carry the others'.
    const temporal = inputs.temporal ? { temporal: cropTemporal(inputs.temporal, inputs.content, rect, settings.normalize ? TEMPORAL_BALANCE : 1) } : {};
    const cut = masks ? tileMasks(masks, rect, tileSettings.styleLayers) : null;
    // A mid-tile edit: this tile's crop of it when it leaves the tile the same terms; the next tiles' in any case.
    const adaptMasks = (edit: LossMasks): LossMasks | null => {
      const next = renderMasks(edit, masks, width, height);
      masks = next;
      const crop = tileMasks(next, rect, tileSettings.styleLayers);
      const same = cut !== null && crop.content === cut.content && String(crop.styles) === String(cut.styles);
      return same ? crop.masks ?? null : null;
    };
    if (terms === null) {
      // Nothing to optimise here (no style region, the photo free): the tile keeps the image it started from.
      compositor.add(start, rect);
      done = tiles.slice(0, t + 1);
      if (options.onTile) options.onTile(compositor.image(), rect, t, tiles.length);
      continue;
    }
    const result = await runStyleTransfer(
      { weights: inputs.weights, content: cropImage(inputs.content, rect), styles: [], startImage: start.data, ...terms.inputs, ...temporal, ...(resumeRun ? { resume: resumeRun } : {}) },
      terms.settings,
      {
        ...(options.controller ? { controller: options.controller } : {}),
        onEvent: (event) => options.onEvent?.(event, { phase: 'tile', index: t, count: tiles.length, sizePx: Math.max(rect.width, rect.height) }),
        ...(sink
          ? { checkpoint: mapCheckpointSink(sink, (run): TiledState => ({ phase: 'tile', stage: { index: t, iterationsBefore, run }, canvas: (canvas ??= compositor.getState()), passInitialLoss })) }
          : {}),
        count: { before: iterationsBefore, total: count.total },
        adaptMasks,
      },
    );
    compositor.add(result.image, rect);
    done = tiles.slice(0, t + 1);
    iterations += result.iterations;
    last = result;
    if (options.onTile) options.onTile(compositor.image(), rect, t, tiles.length);
    if (result.stopped) break;
  }
  // Only where the masks leave every tile without a term (a region too small for the deepest style layer in any tile).
  if (!last) throw new NstError('BAD_ARGUMENT', 'No tile has a term to optimise: the style masks\' regions are too small for the deepest style layer in every tile; paint larger regions or render without tiles.');
  return { image: compositor.image(), iterations, initialLoss: passInitialLoss, finalLoss: last.finalLoss, stopped: last.stopped, stop: last.stop, device: last.device, tiles: done };
}

/**
 * A mask edit at the output's size, checked against the render's masks: the same kind (as many style masks, a content
 * mask or none: the tiles' targets and layers were set up for it), each mask usable (NstError otherwise).
 */
function renderMasks(edit: LossMasks, current: OutputMasks | null, width: number, height: number): OutputMasks {
  const next = outputMasks(edit, width, height);
  const kind = (m: OutputMasks | null): string => `${m?.styles.length ?? 0} style mask${m?.styles.length === 1 ? '' : 's'} and ${m?.content ? 'a' : 'no'} content mask`;
  if (kind(next) !== kind(current)) throw new NstError('BAD_ARGUMENT', `This tiled render was started with ${kind(current)}, not ${kind(next)}: another kind of masks needs a new render.`);
  return next;
}

/** The sentence of an NstError or RangeError `act` throws, or null when it succeeds. */
function refusal(act: () => void): string | null {
  try {
    act();
    return null;
  } catch (error) {
    if (isNstError(error) || error instanceof RangeError) return error.message;
    throw error;
  }
}

/** Iterations of a tiled render in all: the whole-image pass's scales, then every tile. */
export function tiledIterations(iterations: number, coherencePx: number, scales: ScalesOption, tiles: number): number {
  return multiScaleIterations(iterations, coherencePx, scales) + iterations * tiles;
}

/** Each layer's blend of the style images' Grams (one target per layer, as a whole-image run without style masks). */
function blendedTargets(styleGrams: ReadonlyMap<string, readonly Float32Array[]>, blend: readonly number[]): Map<string, Float32Array> {
  const targets = new Map<string, Float32Array>();
  for (const [layer, grams] of styleGrams) {
    const target = new Float32Array(grams[0]!.length);
    grams.forEach((gram, s) => {
      for (let i = 0; i < gram.length; i++) target[i]! += blend[s]! * gram[i]!;
    });
    targets.set(layer, target);
  }
  return targets;
}

/**
 * One tile's targets, masks and layers: the blended targets without style masks; with them the Grams and crops of
 * the styles the tile's crop gives a region, and no style layers when it gives none; no content layers where the
 * content mask's crop is all 0. Null when no term is left.
 */
function tileTerms(
  masks: OutputMasks | null,
  rect: TileRect,
  settings: RunSettings,
  styleTargets: ReadonlyMap<string, Float32Array> | null,
  styleGrams: ReadonlyMap<string, readonly Float32Array[]>,
): { inputs: Pick<RunInputs, 'styleTargets' | 'guidedTargets' | 'masks'>; settings: RunSettings } | null {
  if (!masks) return { inputs: { styleTargets: styleTargets! }, settings };
  const cut = tileMasks(masks, rect, settings.styleLayers);
  const styleLayers = cut.styles?.length === 0 ? [] : settings.styleLayers;
  const contentLayers = cut.content ? settings.contentLayers : [];
  if (styleLayers.length + contentLayers.length === 0) return null;
  const targets: Pick<RunInputs, 'styleTargets' | 'guidedTargets'> =
    styleLayers.length === 0 ? {} : cut.styles === null ? { styleTargets: styleTargets! } : { guidedTargets: new Map([...styleGrams].map(([layer, grams]) => [layer, cut.styles!.map((k) => grams[k]!)])) };
  return { inputs: { ...targets, ...(cut.masks ? { masks: cut.masks } : {}) }, settings: { ...settings, styleLayers, contentLayers } };
}

/** settings with `normalize` replaced by raw weights that carry the whole images' balance factors. */
async function globallyBalanced(
  inputs: { weights: Vgg19Weights; content: PlanarImage; styles: readonly PlanarImage[] },
  settings: RunSettings,
  styleBalances: ReadonlyMap<string, number>,
  blockPx: number,
  execution: Execution,
): Promise<RunSettings> {
  const userLayerWeights = new Map(Object.entries(settings.layerWeights ?? {}).map(([l, w]) => [canonicalLayerName(l), w]));
  const layerWeights: Record<string, number> = {};
  for (const [layer, balance] of styleBalances) layerWeights[layer] = (userLayerWeights.get(layer) ?? 1) * balance;
  let contentFactor = 1;
  if (settings.contentLayers.length > 0) {
    const { contentMeanSquare } = await blockwiseStats(inputs.weights, inputs.content, { styleLayers: [], contentLayers: settings.contentLayers, pool: settings.pool, blockPx, execution });
    const factors = [...contentMeanSquare.values()].map(contentBalance);
    contentFactor = factors.reduce((a, b) => a + b, 0) / factors.length;
  }
  if (!Number.isFinite(totalVariation(inputs.content))) throw new NstError('BAD_ARGUMENT', 'The content image holds values that are not finite.');
  return {
    ...settings,
    normalize: false,
    layerWeights,
    contentWeight: settings.contentWeight * contentFactor,
    tvWeight: settings.tvWeight * tvBalance(inputs.content, inputs.styles),
  };
}
