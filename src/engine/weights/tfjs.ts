// Loads VGG19 conv weights from a TF.js layers model (model.json + binary shards), dequantizing uint8/uint16/float16.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../errors.js';
import { VGG19_LAYER_NAMES } from '../model/vgg19.js';
import type { ConvWeights, Vgg19Weights } from './types.js';

type QuantizationDtype = 'uint8' | 'uint16' | 'float16';

interface Quantization {
  readonly dtype: QuantizationDtype;
  readonly scale: number;
  readonly min: number;
}

interface ManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization: Quantization | undefined;
}

interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly ManifestEntry[];
}

/** A decoded array with the shape the file gave it. */
export interface ShapedArray {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Stored bytes per value; `string` is variable-length and so cannot be stepped over. */
const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES: Readonly<Record<QuantizationDtype, number>> = { uint8: 1, uint16: 2, float16: 2 };

/** `block1_conv1/kernel`, also under a model prefix (`vgg19/block1_conv1/kernel`) or with a `:0` suffix. */
const WEIGHT_NAME = /(?:^|\/)(block\d+_conv\d+)\/(kernel|bias)(?::\d+)?$/;

/** One stored array as the file holds it: its bytes (a view), shape, dtype and quantization. */
export interface TfjsArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization: Quantization | undefined;
  readonly bytes: Uint8Array;
}

export async function loadTfjsWeights(modelJsonPath: string): Promise<Vgg19Weights> {
  const { jsonPath, layers: found } = await readTfjsLayers(modelJsonPath);
  const decoded = (array: TfjsArray | undefined): ShapedArray | undefined => array && { shape: array.shape, values: decodeArray(array, jsonPath) };
  const layers = new Map<string, ConvWeights>();
  for (const layer of VGG19_LAYER_NAMES) {
    const slot = found.get(layer);
    if (slot) layers.set(layer, kerasConv(layer, decoded(slot.kernel), decoded(slot.bias), jsonPath));
  }
  return { layers, source: `tfjs:${jsonPath}` };
}

/** The VGG19 conv arrays of a TF.js model as stored (not decoded), by layer: for loading, and for re-packing them. */
export async function readTfjsLayers(modelJsonPath: string): Promise<{ jsonPath: string; layers: Map<string, { kernel?: TfjsArray; bias?: TfjsArray }> }> {
  const jsonPath = await resolveModelJson(modelJsonPath);
  const groups = parseManifest(await readJson(jsonPath), jsonPath);
  const found = new Map<string, { kernel?: TfjsArray; bias?: TfjsArray }>();
  for (const [index, group] of groups.entries()) {
    const bytes = await readGroupBytes(group, index, jsonPath);
    for (const { entry, offset } of entryOffsets(group)) {
      const match = WEIGHT_NAME.exec(entry.name);
      const layer = match?.[1];
      const role = match?.[2] as 'kernel' | 'bias' | undefined;
      if (!layer || !role || !VGG19_LAYER_NAMES.includes(layer)) continue;
      const slot = found.get(layer) ?? {};
      if (slot[role]) throw badWeights(`${jsonPath} lists ${layer}/${role} twice (the second as "${entry.name}").`);
      slot[role] = { name: entry.name, shape: entry.shape, dtype: entry.dtype, quantization: entry.quantization, bytes: bytes.subarray(offset, offset + entryBytes(entry)) };
      found.set(layer, slot);
    }
  }
  if (found.size === 0) {
    throw badWeights(`${jsonPath} lists no VGG19 conv weights (names like block1_conv1/kernel): not VGG19 weights.`);
  }
  return { jsonPath, layers: found };
}

/** A folder means its model.json, so users can point at what they downloaded. */
async function resolveModelJson(given: string): Promise<string> {
  const absolute = path.resolve(given);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new NstError('FILE_NOT_FOUND', `Weights file ${absolute} does not exist.`);
  if (!info.isDirectory()) {
    if (!info.isFile()) throw badWeights(`${absolute} is not a regular file, so it cannot be a TF.js model.json.`);
    return absolute;
  }
  const inside = path.join(absolute, 'model.json');
  const jsonInfo = await stat(inside).catch(() => undefined);
  if (!jsonInfo?.isFile()) {
    throw new NstError('FILE_NOT_FOUND', `Folder ${absolute} has no model.json, so it is not a TF.js model folder.`);
  }
  return inside;
}

async function readJson(jsonPath: string): Promise<unknown> {
  const text = await readFile(jsonPath, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw badWeights(`${jsonPath} is not JSON, so it cannot be a TF.js model.json.`, cause);
  }
}

function parseManifest(json: unknown, jsonPath: string): ManifestGroup[] {
  const manifest = isRecord(json) ? json['weightsManifest'] : undefined;
  if (!Array.isArray(manifest)) {
    throw badWeights(`${jsonPath} has no weightsManifest, so it is not a TF.js layers model.`);
  }
  return manifest.map((group: unknown, index) => {
    const paths = isRecord(group) ? group['paths'] : undefined;
    const weights = isRecord(group) ? group['weights'] : undefined;
    if (!isStringArray(paths) || !Array.isArray(weights)) {
      throw badWeights(`${jsonPath}: weightsManifest group ${index + 1} lacks its "paths" or "weights" list.`);
    }
    return { paths, weights: weights.map((w: unknown) => parseEntry(w, jsonPath)) };
  });
}

function parseEntry(entry: unknown, jsonPath: string): ManifestEntry {
  const name = isRecord(entry) ? entry['name'] : undefined;
  const shape = isRecord(entry) ? entry['shape'] : undefined;
  const dtype = isRecord(entry) ? entry['dtype'] : undefined;
  if (typeof name !== 'string' || !isShape(shape) || typeof dtype !== 'string') {
    throw badWeights(`${jsonPath}: a weightsManifest entry lacks a name, a shape of whole numbers or a dtype.`);
  }
  const raw = isRecord(entry) ? entry['quantization'] : undefined;
  return { name, shape, dtype, quantization: raw === undefined ? undefined : parseQuantization(raw, name, jsonPath) };
}

function parseQuantization(raw: unknown, name: string, jsonPath: string): Quantization {
  const dtype = isRecord(raw) ? raw['dtype'] : undefined;
  if (dtype !== 'uint8' && dtype !== 'uint16' && dtype !== 'float16') {
    throw badWeights(`${jsonPath}: weight "${name}" uses quantization ${JSON.stringify(dtype)}; supported: uint8, uint16, float16.`);
  }
  if (dtype === 'float16') return { dtype, scale: 1, min: 0 };
  const scale = isRecord(raw) ? raw['scale'] : undefined;
  const min = isRecord(raw) ? raw['min'] : undefined;
  if (typeof scale !== 'number' || typeof min !== 'number') {
    throw badWeights(`${jsonPath}: weight "${name}" is ${dtype}-quantized but lacks a numeric scale and min.`);
  }
  return { dtype, scale, min };
}

/** Within a group, weights follow each other with no padding, in manifest order. */
function* entryOffsets(group: ManifestGroup): Generator<{ entry: ManifestEntry; offset: number }> {
  let offset = 0;
  for (const entry of group.weights) {
    yield { entry, offset };
    offset += entryBytes(entry);
  }
}

function entryBytes(entry: ManifestEntry): number {
  const perValue = entry.quantization ? QUANTIZED_BYTES[entry.quantization.dtype] : DTYPE_BYTES[entry.dtype];
  if (perValue === undefined) {
    throw badWeights(`Weight "${entry.name}" has dtype ${entry.dtype}, which this loader cannot step over.`);
  }
  return perValue * count(entry.shape);
}

/**
 * A group's shards are one buffer cut in pieces; each piece but the last has the same size. Sizes are checked
 * from the file system before anything is read, so a manifest naming one shard a thousand times (or a device
 * that never ends) costs nothing.
 */
async function readGroupBytes(group: ManifestGroup, index: number, jsonPath: string): Promise<Uint8Array> {
  const folder = path.dirname(jsonPath);
  const shardPaths = group.paths.map((p) => shardPathInside(folder, p, jsonPath));
  const sizes = await Promise.all(shardPaths.map((p) => shardSize(p, jsonPath)));
  const expected = group.weights.reduce((sum, entry) => sum + entryBytes(entry), 0);
  const actual = sizes.reduce((sum, size) => sum + size, 0);
  if (actual !== expected) {
    const culprit = group.paths[suspectShard(sizes)] ?? '';
    const problem = actual < expected ? 'is truncated' : 'is longer than the manifest says';
    throw badWeights(
      `Shard ${culprit} of ${jsonPath} ${problem}: weight group ${index + 1} holds ${actual} bytes ` +
        `but its manifest entries need ${expected}.`,
    );
  }
  const shards = await Promise.all(shardPaths.map((p) => readShard(p, jsonPath)));
  const joined = Buffer.concat(shards);
  if (joined.length !== expected) {
    throw badWeights(`A shard of ${jsonPath} changed size while it was read: weight group ${index + 1} holds ${joined.length} bytes, not ${expected}.`);
  }
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
}

/** The shard to blame for a size mismatch: the first short one before the last, else the last. */
function suspectShard(sizes: readonly number[]): number {
  const fullSize = sizes[0] ?? 0;
  const short = sizes.findIndex((s, i) => i < sizes.length - 1 && s !== fullSize);
  return short >= 0 ? short : sizes.length - 1;
}

/**
 * Shards are named relative to model.json and live beside it: a manifest that points elsewhere ("../../.ssh/id_rsa",
 * "/dev/zero") is refused, since model.json files come from the internet and, in the studio, from the page.
 */
function shardPathInside(folder: string, shard: string, jsonPath: string): string {
  if (!isShardPathInside(folder, shard)) {
    throw badWeights(`${jsonPath} names the weight shard "${shard}" outside its own folder; shards must sit beside model.json.`);
  }
  return path.resolve(folder, shard);
}

/** Whether a manifest's shard path names a file in `folder` or below (not the folder, not outside, not absolute). */
export function isShardPathInside(folder: string, shard: string): boolean {
  const relative = path.relative(folder, path.resolve(folder, shard));
  return !(shard.includes('\0') || relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative) || path.isAbsolute(shard));
}

async function shardSize(shardPath: string, jsonPath: string): Promise<number> {
  let info;
  try {
    info = await stat(shardPath);
  } catch (cause) {
    throw new NstError('FILE_NOT_FOUND', `Weight shard ${shardPath} named in ${jsonPath} cannot be read.`, { cause });
  }
  if (!info.isFile()) throw badWeights(`Weight shard ${shardPath} named in ${jsonPath} is not a regular file.`);
  return info.size;
}

async function readShard(shardPath: string, jsonPath: string): Promise<Buffer> {
  try {
    return await readFile(shardPath);
  } catch (cause) {
    throw new NstError('FILE_NOT_FOUND', `Weight shard ${shardPath} named in ${jsonPath} cannot be read.`, { cause });
  }
}

function decodeArray(array: TfjsArray, jsonPath: string): Float32Array {
  const n = count(array.shape);
  if (array.dtype !== 'float32') {
    throw badWeights(`${jsonPath}: weight "${array.name}" has dtype ${array.dtype}; VGG19 weights must be float32.`);
  }
  const { bytes } = array;
  const q = array.quantization;
  if (q?.dtype === 'uint8') return dequantizeUint8(bytes, q.scale, q.min);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(n);
  if (!q) {
    for (let i = 0; i < n; i++) values[i] = view.getFloat32(4 * i, true);
  } else if (q.dtype === 'uint16') {
    for (let i = 0; i < n; i++) values[i] = view.getUint16(2 * i, true) * q.scale + q.min;
  } else {
    for (let i = 0; i < n; i++) values[i] = float16ToNumber(view.getUint16(2 * i, true));
  }
  return values;
}

/**
 * As TF.js does: q * scale + min in double, rounded once to float32 on store (the built-in weights rely on it too).
 * `into`: a buffer at least as long to write into (a reused one); what is returned is its first values.
 */
export function dequantizeUint8(quantized: Uint8Array, scale: number, min: number, into: Float32Array = new Float32Array(quantized.length)): Float32Array {
  const values = into.length === quantized.length ? into : into.subarray(0, quantized.length);
  for (let i = 0; i < quantized.length; i++) values[i] = quantized[i]! * scale + min;
  return values;
}

/** IEEE 754 half precision, including subnormals, infinities and NaN. */
function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// --- Keras layout, shared with the .h5 loader -------------------------------------------------------------

/**
 * One conv layer from Keras arrays: kernel HWIO [3, 3, in, out] and bias [out], checked and turned into
 * ONNX OIHW. `file` names the source in error messages.
 */
export function kerasConv(
  layer: string,
  kernel: ShapedArray | undefined,
  bias: ShapedArray | undefined,
  file: string,
): ConvWeights {
  if (!kernel) throw badWeights(`${file} has ${bias ? 'a bias but ' : ''}no kernel for layer ${layer}.`);
  if (!bias) throw badWeights(`${file} has a kernel but no bias for layer ${layer}.`);
  const [kh, kw, inChannels, outChannels] = kernel.shape;
  if (kernel.shape.length !== 4 || kh !== 3 || kw !== 3 || !inChannels || !outChannels) {
    throw badWeights(`Layer ${layer} in ${file} has kernel shape [${kernel.shape.join(', ')}]; expected [3, 3, in, out].`);
  }
  if (bias.shape.length !== 1 || bias.shape[0] !== outChannels) {
    throw badWeights(`Layer ${layer} in ${file} has bias shape [${bias.shape.join(', ')}]; expected [${outChannels}].`);
  }
  checkLength(layer, 'kernel', kernel, file);
  checkLength(layer, 'bias', bias, file);
  return { kernel: hwioToOihw(kernel.values, inChannels, outChannels), bias: bias.values, inChannels, outChannels };
}

function checkLength(layer: string, role: string, array: ShapedArray, file: string): void {
  if (array.values.length !== count(array.shape)) {
    throw badWeights(
      `Layer ${layer} in ${file}: the ${role} holds ${array.values.length} values, not the ${count(array.shape)} its shape needs.`,
    );
  }
}

/**
 * Keras stores 3x3 kernels as [h, w, in, out]; ONNX Conv wants [out, in, h, w]. Any element type (float values, or
 * the quantized bytes the built-in weights are packed from). Written in output order: sequential stores.
 */
export function hwioToOihw<T extends Float32Array | Uint8Array>(hwio: T, inChannels: number, outChannels: number): T {
  const oihw = (hwio instanceof Float32Array ? new Float32Array(hwio.length) : new Uint8Array(hwio.length)) as T;
  const perSpatial = inChannels * outChannels;
  let to = 0;
  for (let o = 0; o < outChannels; o++) {
    for (let i = 0; i < inChannels; i++) {
      const from = i * outChannels + o;
      for (let spatial = 0; spatial < 9; spatial++) oihw[to++] = hwio[from + spatial * perSpatial]!;
    }
  }
  return oihw;
}

// --- small helpers -----------------------------------------------------------------------------------------

function badWeights(message: string, cause?: unknown): NstError {
  return new NstError('BAD_WEIGHTS', message, cause === undefined ? undefined : { cause });
}

function count(shape: readonly number[]): number {
  return shape.reduce((product, d) => product * d, 1);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isInteger(d) && d >= 0);
}
