// The VGG19 layer table (Keras names), and resolution of the paper's aliases (conv1_1, relu1_1).

import { NstError } from '../errors.js';

/** Channels out of each block's convolutions, and how many convolutions each block has. */
const BLOCKS = [
  { block: 1, convs: 2, channels: 64 },
  { block: 2, convs: 2, channels: 128 },
  { block: 3, convs: 4, channels: 256 },
  { block: 4, convs: 4, channels: 512 },
  { block: 5, convs: 4, channels: 512 },
] as const;

export interface ConvLayerSpec {
  /** Canonical Keras name, e.g. `block4_conv2`. */
  readonly name: string;
  readonly block: number;
  /** 1-based index within its block. */
  readonly conv: number;
  /** 0-based position among the 16 conv layers: graph depth is the deepest requested index + 1. */
  readonly index: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** True when a 2x2 pool follows this layer (the last conv of each block). */
  readonly poolAfter: boolean;
}

function buildTable(): readonly ConvLayerSpec[] {
  const table: ConvLayerSpec[] = [];
  let inChannels = 3;
  for (const { block, convs, channels } of BLOCKS) {
    for (let conv = 1; conv <= convs; conv++) {
      table.push({
        name: `block${block}_conv${conv}`,
        block,
        conv,
        index: table.length,
        inChannels,
        outChannels: channels,
        poolAfter: conv === convs,
      });
      inChannels = channels;
    }
  }
  return table;
}

export const VGG19_CONV_LAYERS: readonly ConvLayerSpec[] = buildTable();
export const VGG19_LAYER_NAMES: readonly string[] = VGG19_CONV_LAYERS.map((l) => l.name);
export const VGG19_POOL_NAMES: readonly string[] = BLOCKS.map((b) => `block${b.block}_pool`);

const byName = new Map(VGG19_CONV_LAYERS.map((l) => [l.name, l]));

/** The Gatys et al. (2016) choice: style conv1_1..conv5_1, content conv4_2. */
export const GATYS_STYLE_LAYERS = ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1'] as const;
export const GATYS_CONTENT_LAYERS = ['block4_conv2'] as const;

/**
 * Canonical Keras name for a layer given as `block4_conv2`, `conv4_2`, `relu4_2` (the ReLU output is what the
 * losses read anyway) or any letter case. Throws UNKNOWN_LAYER naming the input and the accepted forms.
 */
export function canonicalLayerName(name: string): string {
  const trimmed = name.trim().toLowerCase();
  if (byName.has(trimmed)) return trimmed;
  const alias = /^(?:conv|relu)(\d)_(\d)$/.exec(trimmed);
  if (alias) {
    const keras = `block${alias[1]}_conv${alias[2]}`;
    if (byName.has(keras)) return keras;
  }
  throw new NstError(
    'UNKNOWN_LAYER',
    `Unknown VGG19 layer "${name}": use block1_conv1 … block5_conv4 (or the aliases conv1_1 / relu1_1 … conv5_4).`,
  );
}

export function layerSpec(name: string): ConvLayerSpec {
  const spec = byName.get(canonicalLayerName(name));
  if (!spec) throw new NstError('UNKNOWN_LAYER', `Unknown VGG19 layer "${name}".`);
  return spec;
}

/** Spatial size after the pools that precede `layer`: each 2x2/2 pool floors, as Keras 'valid' does. */
export function featureSize(layer: ConvLayerSpec, height: number, width: number): { height: number; width: number } {
  let h = height;
  let w = width;
  for (let b = 1; b < layer.block; b++) {
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
  }
  return { height: h, width: w };
}
