// The rendering options `stylize` and `batch` share: declared once, parsed into engine settings once, and the
// per-iteration JSON line both print.

import type { Command } from 'commander';
import { convergenceRule, DEFAULT_RUN_SETTINGS, DEFAULT_TILE_OVERLAP_PX, DEFAULT_SIZE_PX, decodeImage, describeStop, STOP_TOLERANCE_RANGE, type StopReason, type PlanarImage, type InitMode, type RenderEvent, type RunSettings, type ScalesOption, type TileOption, type RenderPhase, MB, defaultMemoryLimit, type OptimizerName } from '../engine/index.js';
import { addLossOptions, checkStyleBlend, readLossOptions } from './loss-options.js';
import { parseChoice, parseNumber } from './parse.js';

/** Declares the options that shape a rendering (size, optimiser, scales, tiles, memory, loss terms) and --json. */
export function addRenderOptions(command: Command): Command {
  const d = DEFAULT_RUN_SETTINGS;
  command
    .option('--size <px>', 'longest side of the output in pixels', String(DEFAULT_SIZE_PX))
    .option('--iterations <n>', 'most optimizer iterations at the output size (the cap: --stop auto ends sooner when the picture is done)', String(d.iterations))
    .option('--stop <auto|off>', 'auto: stop once the picture has stopped changing (loss and pixels still over the last 20 iterations), at most --iterations; off: run all --iterations', 'auto')
    .option('--stop-tolerance <x>', 'scales --stop auto\'s thresholds: 2 stops sooner, 0.5 later', '1')
    .option('--optimizer <gd|adam|lbfgs>', 'optimizer', d.optimizer)
    .option('--lr <rate>', 'learning rate (default: the optimizer\'s own)')
    .option('--init <content|noise|style>', 'starting image', d.init)
    .option('--seed <n>', 'random seed (noise init)', String(d.seed))
    .option('--weights <path>', 'VGG19 weights (.h5, .onnx or TF.js folder); default $NST_WEIGHTS')
    .option('--scales <auto|off|N>', 'coarse-to-fine: optimise at halved sizes first (auto: above 384 px, coarsest ≥ 192 px); --iterations run at the output size, a quarter of them at each coarser scale', 'auto')
    .option('--style-scale <factor>', 'style image size relative to the output', '1')
    .option('--original-colors', 'keep the content photo\'s colours: transfer luminance only')
    .option('--tile <auto|off|N>', 'tiled rendering: auto (when the whole image does not fit in --memory-limit), off (then optimise smaller and upsample), or N-px tiles', 'auto')
    .option('--tile-overlap <px>', `overlap of neighbouring tiles (default ${DEFAULT_TILE_OVERLAP_PX}; at most a quarter of the tile, said when cut)`)
    .option('--memory-limit <MB>', 'memory budget in MB (default: the memory available now, less a margin)');
  return addLossOptions(command, { normalizeByDefault: true });
}

export interface RenderOptionValues {
  /** Engine settings with `reportEvery: 1` and `imageEvery: 0` (a command asking for snapshots sets its own). */
  readonly settings: RunSettings;
  readonly sizePx: number;
  readonly scales: ScalesOption;
  readonly styleScale: number;
  readonly tile: TileOption;
  /** As given; absent: the engine's default, cut to a quarter of the tiles without a word (nobody asked for it). */
  readonly tileOverlapPx?: number;
  readonly memoryLimitBytes: number;
  readonly originalColors: boolean;
  readonly weights: string | undefined;
}

/**
 * Parses what addRenderOptions declared; every bad value throws BAD_ARGUMENT naming its option, --style-blend
 * included (one weight per style image), before any image or weights are read.
 */
export function readRenderOptions(raw: Record<string, string | boolean | undefined>, { styleCount }: { styleCount: number }): RenderOptionValues {
  const text = raw as Record<string, string | undefined>;
  const loss = readLossOptions(text);
  checkStyleBlend(loss.styleBlend, styleCount);
  const settings: RunSettings = {
    ...loss,
    iterations: parseNumber('--iterations', text.iterations!, { min: 0, max: 1_000_000, integer: true }),
    optimizer: parseChoice<OptimizerName>('--optimizer', text.optimizer!, ['gd', 'adam', 'lbfgs']),
    ...(text.lr !== undefined ? { learningRate: parseNumber('--lr', text.lr, { min: 0, minExclusive: true }) } : {}),
    init: parseChoice<InitMode>('--init', text.init!, ['content', 'noise', 'style']),
    seed: parseNumber('--seed', text.seed!, { integer: true, min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    reportEvery: 1,
    imageEvery: 0,
    ...readStopOptions(text),
  };
  return {
    settings,
    sizePx: parseNumber('--size', text.size!, { min: 16, max: 16384, integer: true }),
    scales: text.scales === 'auto' || text.scales === 'off' ? text.scales : parseNumber('--scales', text.scales!, { min: 1, max: 8, integer: true }),
    styleScale: parseNumber('--style-scale', text.styleScale!, { min: 0.05, max: 8 }),
    tile: text.tile === 'auto' || text.tile === 'off' ? text.tile : parseNumber('--tile', text.tile!, { min: 64, max: 16384, integer: true }),
    ...(text.tileOverlap !== undefined ? { tileOverlapPx: parseNumber('--tile-overlap', text.tileOverlap, { min: 0, max: 1024, integer: true }) } : {}),
    memoryLimitBytes: text.memoryLimit !== undefined ? parseNumber('--memory-limit', text.memoryLimit, { min: 1 }) * MB : defaultMemoryLimit(),
    originalColors: raw.originalColors === true,
    weights: text.weights,
  };
}

/** --stop and --stop-tolerance as the engine's rule (none for --stop off). */
function readStopOptions(text: Record<string, string | undefined>): Pick<RunSettings, 'converge'> {
  const stop = parseChoice('--stop', text.stop ?? 'auto', ['auto', 'off']);
  const tolerance = parseNumber('--stop-tolerance', text.stopTolerance ?? '1', STOP_TOLERANCE_RANGE);
  return stop === 'auto' ? { converge: convergenceRule(tolerance) } : {};
}

/** Why a run ended, as the CLI's last line says it: describeStop's clause, with the cap named as the option. */
export function stopSentence(stop: StopReason): string {
  return stop.kind === 'cap' ? `reached --iterations ${stop.cap}` : describeStop(stop);
}

/** The reason for --json's done line: the engine's StopReason and its sentence. */
export function stopRecord(stop: StopReason): Record<string, unknown> {
  return { ...stop, message: stopSentence(stop) };
}

/** The style images at the size the run optimises against (the output's longest side times --style-scale). */
export async function decodeStyles(paths: readonly string[], options: Pick<RenderOptionValues, 'sizePx' | 'styleScale'>): Promise<PlanarImage[]> {
  const sizePx = Math.max(16, Math.round(options.sizePx * options.styleScale));
  return Promise.all(paths.map((p) => decodeImage(p, { sizePx })));
}

/** One reported iteration as a --json line; the engine numbers iterations across scales and tiles. */
export function iterationRecord(event: Extract<RenderEvent, { type: 'progress' }>, scale: RenderPhase): Record<string, unknown> {
  return {
    iteration: event.iteration,
    loss: event.loss.total,
    style: event.loss.style,
    content: event.loss.content,
    tv: event.loss.tv,
    ms: round(event.ms),
    ...(scale.count > 1 ? { scale: scale.index + 1, sizePx: scale.sizePx } : {}),
    ...(scale.phase !== 'scale' ? { phase: scale.phase } : {}),
  };
}

export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
