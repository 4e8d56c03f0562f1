// Seeded random VGG19 weights: full-size for smoke runs, channel-scaled tiny ones for finite-difference tests.

import { NstError, requireNumberInRange } from '../errors.js';
import { createRng, type Rng } from '../sys/random.js';
import { VGG19_CONV_LAYERS } from '../model/vgg19.js';
import type { ConvWeights, Vgg19Weights } from './types.js';

export interface RandomVgg19Options {
  readonly seed: number;
  /** How many conv layers, from block1_conv1 down; default all 16. */
  readonly depth?: number;
  /**
   * Multiplies every layer's channel count (rounded, at least 1); default 1. The image input keeps its 3
   * channels. With a scale below 1 the layers no longer match the VGG19 table: they record their own counts.
   */
  readonly channelScale?: number;
}

const BIAS_STD = 0.05;

export function randomVgg19Weights(options: RandomVgg19Options): Vgg19Weights {
  const depth = options.depth ?? VGG19_CONV_LAYERS.length;
  const channelScale = options.channelScale ?? 1;
  requireNumberInRange('depth', depth, 1, VGG19_CONV_LAYERS.length);
  if (!Number.isInteger(depth)) throw new NstError('BAD_ARGUMENT', `depth must be a whole number, got ${depth}.`);
  if (!(channelScale > 0 && channelScale <= 1)) {
    throw new NstError('BAD_ARGUMENT', `channelScale must be above 0 and at most 1, got ${String(channelScale)}.`);
  }

  const rng = createRng(options.seed);
  const layers = new Map<string, ConvWeights>();
  let inChannels = 3;
  for (const spec of VGG19_CONV_LAYERS.slice(0, depth)) {
    const outChannels = Math.max(1, Math.round(spec.outChannels * channelScale));
    layers.set(spec.name, randomConv(rng, inChannels, outChannels));
    inChannels = outChannels;
  }
  return { layers, source: `random:seed=${options.seed},depth=${depth},channelScale=${channelScale}` };
}

/** He-normal kernel (std sqrt(2 / fan_in), fan_in = 9·in) keeps activations O(1) through the ReLU stack. */
function randomConv(rng: Rng, inChannels: number, outChannels: number): ConvWeights {
  const kernel = new Float32Array(outChannels * inChannels * 9);
  const std = Math.sqrt(2 / (9 * inChannels));
  for (let i = 0; i < kernel.length; i++) kernel[i] = rng.normal() * std;
  // Non-zero biases move pre-activations off exact zeros, where ReLU's gradient is a convention.
  const bias = new Float32Array(outChannels);
  for (let i = 0; i < bias.length; i++) bias[i] = rng.normal() * BIAS_STD;
  return { kernel, bias, inChannels, outChannels };
}
