// One entry point for weights: detect the format, load, validate against the VGG19 table, check layer coverage.

import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../errors.js';
import { VGG19_CONV_LAYERS } from '../model/vgg19.js';
import { hasHdf5Signature, loadKerasH5Weights } from './keras-h5.js';
import { loadOnnxZooWeights } from './onnx-zoo.js';
import { INDEX_FILE, INDEX_FORMAT, readConvertedFolder } from './store.js';
import { loadTfjsWeights } from './tfjs.js';
import { kernelReader } from './kernel-values.js';
import type { ConvWeights, QuantizedKernel, Vgg19Weights } from './types.js';

/** `converted`: the engine's own float32 blob + index (what `nst weights fetch`/`import` install). */
export type WeightsFormat = 'tfjs' | 'keras-h5' | 'onnx-zoo' | 'converted';

const SNIFF_BYTES = 64;

/** Loads weights from a TF.js folder or model.json, a Keras .h5, or an ONNX zoo .onnx; then validates them. */
export async function loadWeights(filePath: string): Promise<Vgg19Weights> {
  const absolute = path.resolve(filePath);
  const format = await detectWeightsFormat(absolute);
  const weights = await LOADERS[format](absolute);
  validateWeights(weights);
  return weights;
}

const LOADERS: Readonly<Record<WeightsFormat, (p: string) => Promise<Vgg19Weights>>> = {
  tfjs: loadTfjsWeights,
  'keras-h5': loadKerasH5Weights,
  'onnx-zoo': loadOnnxZooWeights,
  // A wrapper, not the function itself: store.ts imports this module, and this table is built at load time.
  converted: (p) => readConvertedFolder(path.extname(p) === '.json' ? path.dirname(p) : p),
};

/** By what the path is (folder) or how it ends; failing that, by its first bytes. */
export async function detectWeightsFormat(filePath: string): Promise<WeightsFormat> {
  const absolute = path.resolve(filePath);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new NstError('FILE_NOT_FOUND', `Weights file ${absolute} does not exist.`);
  if (!info.isDirectory() && !info.isFile()) {
    // Sniffing a FIFO's first bytes would wait for a writer forever; a device may never end.
    throw new NstError('BAD_WEIGHTS', `${absolute} is not a regular file or folder (a device, pipe or socket), so it holds no weights.`);
  }
  if (info.isDirectory()) {
    const has = (name: string): Promise<boolean> => stat(path.join(absolute, name)).then((s) => s.isFile(), () => false);
    return !(await has('model.json')) && (await has(INDEX_FILE)) ? 'converted' : 'tfjs';
  }
  const extension = path.extname(absolute).toLowerCase();
  if (extension === '.json') return isConvertedIndex(await readHead(absolute)) ? 'converted' : 'tfjs';
  if (extension === '.h5' || extension === '.hdf5') return 'keras-h5';
  if (extension === '.onnx') return 'onnx-zoo';
  const head = await readHead(absolute);
  if (hasHdf5Signature(head)) return 'keras-h5';
  if (Buffer.from(head).toString('utf8').trimStart().startsWith('{')) return 'tfjs';
  throw new NstError(
    'BAD_WEIGHTS',
    `${absolute} is not a recognised weights file: use a TF.js model folder or model.json, a Keras .h5, or an ONNX .onnx.`,
  );
}

/** The index is written with "format" first: `{\n  "format": "nst-vgg19-float32", …`. */
function isConvertedIndex(head: Uint8Array): boolean {
  return new RegExp(`^\\s*\\{\\s*"format"\\s*:\\s*"${INDEX_FORMAT}"`).test(Buffer.from(head).toString('utf8'));
}

async function readHead(absolute: string): Promise<Uint8Array> {
  const handle = await open(absolute, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface ValidateOptions {
  /**
   * Require each layer's channel counts to match the VGG19 table (default true). Turn off only for
   * deliberately shrunken networks such as `randomVgg19Weights({ channelScale })`.
   */
  readonly tableShapes?: boolean;
}

/**
 * Throws BAD_WEIGHTS naming the layer and the problem unless every layer is a known VGG19 conv whose arrays
 * fit its channel counts, whose input channels follow the previous layer's output, and whose values are finite and
 * of a trained network's magnitude (MAX_WEIGHT_MAGNITUDE).
 */
export function validateWeights(weights: Vgg19Weights, options: ValidateOptions = {}): void {
  const tableShapes = options.tableShapes ?? true;
  let previous: ConvWeights | undefined;
  const read = kernelReader();
  for (const spec of VGG19_CONV_LAYERS) {
    const layer = weights.layers.get(spec.name);
    if (!layer) {
      previous = undefined;
      continue;
    }
    const where = `Layer ${spec.name} in ${weights.source}`;
    checkSizes(layer, layer.quantized?.bytes.length ?? layer.kernel.length, where);
    if (tableShapes && (layer.inChannels !== spec.inChannels || layer.outChannels !== spec.outChannels)) {
      throw badWeights(
        `${where} has kernel [${shapeOf(layer)}]; VGG19 needs [${spec.outChannels}, ${spec.inChannels}, 3, 3].`,
      );
    }
    const first = spec.index === 0;
    if ((first && layer.inChannels !== 3) || (previous && layer.inChannels !== previous.outChannels)) {
      const feeding = first ? 3 : (previous?.outChannels ?? 0);
      throw badWeights(`${where} takes ${layer.inChannels} input channels, but ${feeding} arrive.`);
    }
    // A quantized kernel's values lie between min and min + 255·scale: within bounds there, no value needs reading
    // (0.15 s of a run's start-up for the built-in weights); otherwise every value is read, to name the first bad one.
    if (!layer.quantized || !quantizedWithinBounds(layer.quantized)) checkValues(read(layer), where, 'kernel');
    checkValues(layer.bias, where, 'bias');
    previous = layer;
  }
  for (const name of weights.layers.keys()) {
    if (!VGG19_CONV_LAYERS.some((spec) => spec.name === name)) {
      throw badWeights(`${weights.source} has a layer "${name}" that VGG19 does not.`);
    }
  }
}

function quantizedWithinBounds(q: QuantizedKernel): boolean {
  return Math.max(Math.abs(q.min), Math.abs(q.min + 255 * q.scale)) <= MAX_WEIGHT_MAGNITUDE;
}

function checkSizes(layer: ConvWeights, kernelLength: number, where: string): void {
  const kernelSize = layer.outChannels * layer.inChannels * 9;
  if (kernelLength !== kernelSize) {
    throw badWeights(`${where} has ${kernelLength} kernel values; [${shapeOf(layer)}] needs ${kernelSize}.`);
  }
  if (layer.bias.length !== layer.outChannels) {
    throw badWeights(`${where} has ${layer.bias.length} bias values; it has ${layer.outChannels} output channels.`);
  }
}

/**
 * Largest magnitude a weight of a usable VGG19 may have. Trained VGG19s stay near 1 (ImageNet's largest is a bias of
 * about 9.6); a flipped exponent bit makes values like 1e30, which overflow float32 a few layers on and surface only
 * as a non-finite loss, blamed on the learning rate. 1e4 leaves room for rescaled networks.
 */
export const MAX_WEIGHT_MAGNITUDE = 1e4;

/** Every value finite and within ±MAX_WEIGHT_MAGNITUDE; one pass, as the plain finiteness check was. */
function checkValues(values: Float32Array, where: string, role: 'kernel' | 'bias'): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i] ?? Number.NaN;
    if (Math.abs(value) <= MAX_WEIGHT_MAGNITUDE) continue;
    if (!Number.isFinite(value)) throw badWeights(`${where} has a non-finite ${role} value (${String(value)} at index ${i}).`);
    throw badWeights(
      `${where} has a ${role} value of ${value.toExponential(3)} at index ${i}, beyond the ±${MAX_WEIGHT_MAGNITUDE} any trained VGG19 stays within: the file is damaged (get it again).`,
    );
  }
}

function shapeOf(layer: ConvWeights): string {
  return `${layer.outChannels}, ${layer.inChannels}, 3, 3`;
}

function badWeights(message: string): NstError {
  return new NstError('BAD_WEIGHTS', message);
}
