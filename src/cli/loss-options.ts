// The loss options shared by `stylize`, `loss` and `bench`: declared once, read into engine settings once.

import type { Command } from 'commander';
import { DEFAULT_RUN_SETTINGS, MAX_LOSS_WEIGHT, NstError, type PoolKind, DEVICES, type DeviceRequest, CONV_ALGORITHMS, type ConvAlgorithm } from '../engine/index.js';
import { parseChoice, parseLayerList, parseLayerWeights, parseNumber, parseNumberList } from './parse.js';

export interface LossOptionValues {
  styleLayers: string[];
  contentLayers: string[];
  layerWeights: Record<string, number>;
  styleBlend?: number[];
  styleWeight: number;
  contentWeight: number;
  tvWeight: number;
  pool: PoolKind;
  device: DeviceRequest;
  threads: number;
  convAlgorithm: ConvAlgorithm;
  normalize: boolean;
}

/**
 * `normalizeByDefault`: stylize balances the terms by their targets (weights of 1 mean equal say); `loss` and
 * `bench` default to the raw convention the fixtures use.
 */
export function addLossOptions(command: Command, { normalizeByDefault }: { normalizeByDefault: boolean }): Command {
  const d = DEFAULT_RUN_SETTINGS;
  if (normalizeByDefault) command.option('--no-normalize', 'use the raw weights: do not balance the terms by their targets\' size');
  else command.option('--normalize', 'balance the terms by their targets\' size (stylize does this by default)');
  return command
    .option('--style-layers <layers>', 'style layers, comma-separated (block1_conv1 or conv1_1)', d.styleLayers.join(','))
    .option('--content-layers <layers>', 'content layers, comma-separated', d.contentLayers.join(','))
    .option('--layer-weights <L=w,...>', 'per style layer weights (default 1 each)', '')
    .option('--style-blend <w,...>', 'blend weights of the style images (default equal)')
    .option('--style-weight <w>', 'style weight', String(d.styleWeight))
    .option('--content-weight <w>', 'content weight', String(d.contentWeight))
    .option('--tv-weight <w>', 'total-variation weight', String(d.tvWeight))
    .option('--pool <max|avg>', 'pooling', d.pool)
    .option('--device <device>', `execution provider: ${DEVICES.join(', ')}`, 'auto')
    .option('--threads <n>', 'CPU threads (0 = all cores)', '0')
    .option('--conv <direct|winograd|auto>', '3x3 convs: onnxruntime\'s Conv, or Winograd F(4x4,3x3) on blocks 3-5; auto = winograd on the CPU while the run stays under 2 GiB (to about 490 px with L-BFGS), direct on GPUs', 'auto');
}

/** Weights past 1e10 overflow float32 in the loss (the engine refuses them too): refused here, naming the option. */
const LOSS_WEIGHT_RANGE = { min: 0, max: MAX_LOSS_WEIGHT };

export function readLossOptions(raw: Record<string, string | undefined>): LossOptionValues {
  const styleLayers = parseLayerList('--style-layers', raw.styleLayers ?? '');
  const layerWeights = parseLayerWeights('--layer-weights', raw.layerWeights ?? '', MAX_LOSS_WEIGHT);
  // A weight for a layer that is not a style layer would be ignored: the user meant something else.
  for (const layer of Object.keys(layerWeights)) {
    if (!styleLayers.includes(layer)) {
      const chosen = styleLayers.length > 0 ? `--style-layers is ${styleLayers.join(',')}` : '--style-layers names none';
      throw new NstError('BAD_ARGUMENT', `--layer-weights: ${layer} is not a style layer (${chosen}), so its weight would do nothing: add it to --style-layers or leave its weight out.`);
    }
  }
  return {
    styleLayers,
    contentLayers: parseLayerList('--content-layers', raw.contentLayers ?? ''),
    layerWeights,
    ...(raw.styleBlend !== undefined ? { styleBlend: parseNumberList('--style-blend', raw.styleBlend) } : {}),
    styleWeight: parseNumber('--style-weight', raw.styleWeight!, LOSS_WEIGHT_RANGE),
    contentWeight: parseNumber('--content-weight', raw.contentWeight!, LOSS_WEIGHT_RANGE),
    tvWeight: parseNumber('--tv-weight', raw.tvWeight!, LOSS_WEIGHT_RANGE),
    pool: parseChoice('--pool', raw.pool!, ['max', 'avg'] as const),
    device: parseChoice('--device', raw.device!, DEVICES),
    threads: parseNumber('--threads', raw.threads!, { min: 0, max: 256, integer: true }),
    convAlgorithm: parseChoice('--conv', raw.conv ?? 'auto', CONV_ALGORITHMS),
    normalize: (raw as Record<string, unknown>).normalize === true,
  };
}

/** One --style-blend weight per style image, not all zero: said before weights and images are loaded. */
export function checkStyleBlend(styleBlend: readonly number[] | undefined, styleCount: number): void {
  if (styleBlend === undefined) return;
  if (styleBlend.length !== styleCount) {
    const images = styleCount === 1 ? '1 style image' : `${styleCount} style images`;
    throw new NstError('BAD_ARGUMENT', `--style-blend: ${styleBlend.length} weights for ${images}; give one weight per style image.`);
  }
  if (!styleBlend.some((w) => w > 0)) throw new NstError('BAD_ARGUMENT', '--style-blend: the weights add up to 0; give at least one above 0.');
}
