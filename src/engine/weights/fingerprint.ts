// Which VGG19 weights a run computes with, as a short stable value a checkpoint can record and compare.

import { createHash } from 'node:crypto';
import { kernelReader } from './kernel-values.js';
import type { Vgg19Weights } from './types.js';

export interface WeightsFingerprint {
  /** Where the weights were loaded from (Vgg19Weights.source), for messages: not compared (a moved file is the same). */
  readonly source: string;
  readonly layers: number;
  /**
   * SHA-256 over every layer, in name order: its name, channel counts and value counts, then its kernel and bias
   * as float32 bytes. The same numbers hash alike whatever the file format they came from.
   */
  readonly sha256: string;
}

/** Bumped if what is hashed changes: a fingerprint of another scheme never equals one of this. */
const SCHEME = 'nst-weights-fingerprint/1';

// Studio workers reuse one loaded Weights for many runs: hash each once (all of an 80 MB set is ~45 ms here).
const cache = new WeakMap<Vgg19Weights, WeightsFingerprint>();

/**
 * The fingerprint of `weights`: all of their bytes are hashed, not a sample, because fine-tuned or re-quantized
 * weights keep the names and shapes and may differ anywhere. Little-endian float32, as checkpoints are written.
 */
export function weightsFingerprint(weights: Vgg19Weights): WeightsFingerprint {
  const known = cache.get(weights);
  if (known) return known;
  const hash = createHash('sha256').update(`${SCHEME}\n`);
  const names = [...weights.layers.keys()].sort();
  const read = kernelReader();
  for (const name of names) {
    const layer = weights.layers.get(name)!;
    const kernel = read(layer);
    hash.update(`${name} ${layer.outChannels} ${layer.inChannels} ${kernel.length} ${layer.bias.length}\n`);
    hash.update(new Uint8Array(kernel.buffer, kernel.byteOffset, kernel.byteLength));
    hash.update(new Uint8Array(layer.bias.buffer, layer.bias.byteOffset, layer.bias.byteLength));
  }
  const fingerprint: WeightsFingerprint = { source: weights.source, layers: names.length, sha256: hash.digest('hex') };
  cache.set(weights, fingerprint);
  return fingerprint;
}

/** "tfjs:/data/vgg19/model.json (16 layers, SHA-256 936f3568…)": for messages. */
export function describeFingerprint(fingerprint: WeightsFingerprint): string {
  return `${fingerprint.source} (${fingerprint.layers} layer${fingerprint.layers === 1 ? '' : 's'}, SHA-256 ${fingerprint.sha256.slice(0, 12)}…)`;
}
