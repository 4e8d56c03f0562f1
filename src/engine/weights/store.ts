// The installed weights in the engine's fast-loading form (one float32 blob plus a JSON index): write, read, check, remove.

import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../errors.js';
import { dataDir } from '../persist/data-dir.js';
import { fsyncDirectory, writeFileAtomic, writeTemporary } from '../sys/atomic-file.js';
import { LITTLE_ENDIAN_HOST } from '../sys/endian.js';
import { pathExists, readTextIfPresent } from '../sys/path-exists.js';
import { VGG19_CONV_LAYERS, VGG19_LAYER_NAMES } from '../model/vgg19.js';
import { validateWeights, type WeightsFormat } from './load.js';
import type { ConvWeights, Vgg19Weights } from './types.js';
import { dequantizeUint8 } from './tfjs.js';

export const BLOB_FILE = 'vgg19.bin';
export const INDEX_FILE = 'vgg19.json';
export const INDEX_FORMAT = 'nst-vgg19-float32';
/** Version 1: every array float32. Version 2 adds uint8-quantized arrays (the built-in weights). */
const INDEX_VERSION = 1;
const READABLE_VERSIONS = [1, 2];

// --- where things live -------------------------------------------------------------------------------------

export interface StorePaths {
  /** The data folder. */
  readonly root: string;
  /** The installed weights: vgg19.bin + vgg19.json. */
  readonly weights: string;
  readonly blob: string;
  readonly index: string;
  /** Downloads in progress (.part files) and scratch space for imports from bytes. */
  readonly downloads: string;
}

export function storePaths(root: string = dataDir()): StorePaths {
  const weights = path.join(root, 'weights');
  return {
    root,
    weights,
    blob: path.join(weights, BLOB_FILE),
    index: path.join(weights, INDEX_FILE),
    downloads: path.join(root, 'downloads'),
  };
}

// --- the index ---------------------------------------------------------------------------------------------

/**
 * Byte range of one array in the blob, and its shape. float32 unless `dtype` says uint8: then one byte a value,
 * read as q · scale + min (TF.js's affine quantization, dequantized as TF.js does).
 */
export interface StoredArray {
  readonly shape: readonly number[];
  readonly offset: number;
  readonly length: number;
  readonly dtype?: 'uint8';
  readonly scale?: number;
  readonly min?: number;
}

export interface StoredLayer {
  readonly name: string;
  /** OIHW [out, in, 3, 3]. */
  readonly kernel: StoredArray;
  readonly bias: StoredArray;
}

/** A file the weights were made from, with its digests. */
export interface SourceFile {
  /** Its name (or path relative to the imported folder). */
  readonly name: string;
  readonly bytes: number;
  readonly md5: string;
  readonly sha256: string;
}

export interface WeightsProvenance {
  /** 'builtin': shipped with the app (resources/weights). */
  readonly kind: 'download' | 'import' | 'builtin';
  /** The URL it was downloaded from, or the absolute path it was imported from. */
  readonly source: string;
  readonly format: WeightsFormat;
  readonly files: readonly SourceFile[];
  /** When it was installed, ISO 8601. */
  readonly date: string;
}

export interface WeightsIndex {
  readonly format: typeof INDEX_FORMAT;
  readonly version: number;
  readonly byteOrder: 'little-endian';
  readonly blob: { readonly file: string; readonly bytes: number; readonly sha256: string };
  readonly layers: readonly StoredLayer[];
  readonly provenance: WeightsProvenance;
}

// --- writing -----------------------------------------------------------------------------------------------

/**
 * Writes the weights as vgg19.bin (every layer's OIHW kernel then bias, float32 little-endian, back to back)
 * and vgg19.json. Atomic for readers: both go to temp files first; the old index goes, the blob is renamed into
 * place, and the index comes last, so an index on disk always describes the blob beside it.
 */
export async function writeConvertedWeights(
  weights: Vgg19Weights,
  provenance: WeightsProvenance,
  root: string = dataDir(),
): Promise<WeightsIndex> {
  validateWeights(weights);
  const paths = storePaths(root);
  const float32 = (values: Float32Array, shape: readonly number[]): PackedArray => ({ shape, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
  const layers = VGG19_CONV_LAYERS.filter((spec) => weights.layers.has(spec.name)).map((spec) => {
    const layer = weights.layers.get(spec.name) as ConvWeights;
    return { name: spec.name, kernel: float32(layer.kernel, [layer.outChannels, layer.inChannels, 3, 3]), bias: float32(layer.bias, [layer.outChannels]) };
  });
  const { blob, index } = packWeights(layers, provenance);

  await mkdir(paths.weights, { recursive: true });
  const temporaries: string[] = [];
  try {
    // Both written and flushed before the old index goes: a failed write leaves the old weights installed.
    const blobTemp = await writeTemporary(paths.blob, blob);
    temporaries.push(blobTemp);
    const indexTemp = await writeTemporary(paths.index, indexText(index));
    temporaries.push(indexTemp);
    await rm(paths.index, { force: true });
    await rename(blobTemp, paths.blob);
    await rename(indexTemp, paths.index);
    await fsyncDirectory(paths.weights);
  } finally {
    for (const temporary of temporaries) await rm(temporary, { force: true });
  }
  return index;
}

/** One array to store: float32 values' bytes (host order), or uint8 values with their affine quantization. */
export interface PackedArray {
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
  readonly quantization?: { readonly scale: number; readonly min: number };
}

/** The blob (arrays back to back, float32 ones little-endian) and its index; version 2 when any array is quantized. */
export function packWeights(layers: readonly { name: string; kernel: PackedArray; bias: PackedArray }[], provenance: WeightsProvenance): { blob: Buffer; index: WeightsIndex } {
  const blob = Buffer.alloc(layers.reduce((sum, l) => sum + l.kernel.bytes.length + l.bias.bytes.length, 0));
  let offset = 0;
  let quantized = false;
  const put = (array: PackedArray): StoredArray => {
    if (!array.quantization && offset % 4 !== 0) throw new RangeError('A float32 array would start unaligned: pack float32 arrays before uint8 ones.');
    const stored: StoredArray = array.quantization
      ? { shape: array.shape, offset, length: array.bytes.length, dtype: 'uint8', scale: array.quantization.scale, min: array.quantization.min }
      : { shape: array.shape, offset, length: array.bytes.length };
    blob.set(array.bytes, offset);
    if (!array.quantization && !LITTLE_ENDIAN_HOST) blob.subarray(offset, offset + array.bytes.length).swap32();
    quantized ||= array.quantization !== undefined;
    offset += array.bytes.length;
    return stored;
  };
  const stored = layers.map((layer) => ({ name: layer.name, kernel: put(layer.kernel), bias: put(layer.bias) }));
  const index: WeightsIndex = {
    format: INDEX_FORMAT,
    version: quantized ? 2 : INDEX_VERSION,
    byteOrder: 'little-endian',
    blob: { file: BLOB_FILE, bytes: blob.length, sha256: createHash('sha256').update(blob).digest('hex') },
    layers: stored,
    provenance,
  };
  return { blob, index };
}

/** Writes packed weights as vgg19.bin + vgg19.json into `folder` (the built-in weights; not the installed store). */
export async function writeWeightsFolder(folder: string, packed: { blob: Buffer; index: WeightsIndex }): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFileAtomic(path.join(folder, BLOB_FILE), packed.blob);
  await writeFileAtomic(path.join(folder, INDEX_FILE), indexText(packed.index));
}

/** Pretty, one line per layer; "format" comes first, which format sniffing relies on. */
function indexText(index: WeightsIndex): string {
  const { layers, ...rest } = index;
  const placeholder = '"<layers>"';
  const lines = layers.map((layer) => `    ${JSON.stringify(layer)}`).join(',\n');
  return `${JSON.stringify({ ...rest, layers: '<layers>' }, null, 2).replace(placeholder, `[\n${lines}\n  ]`)}\n`;
}

// --- reading -----------------------------------------------------------------------------------------------

/** The index of the installed weights, or null when none are installed. Throws BAD_WEIGHTS when it is damaged. */
export async function readWeightsIndex(root: string = dataDir()): Promise<WeightsIndex | null> {
  return readIndexFile(storePaths(root).index);
}

async function readIndexFile(indexPath: string): Promise<WeightsIndex | null> {
  const text = await readTextIfPresent(indexPath);
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw damaged(indexPath, 'it is not JSON', cause);
  }
  return checkIndex(json, indexPath);
}

/** Loads the installed weights: one read of the blob, then a Float32Array view per array (no parsing, no copy). */
export async function loadConvertedWeights(root: string = dataDir()): Promise<Vgg19Weights> {
  return loadConvertedFolder(storePaths(root).weights);
}

/** Loads and validates vgg19.json + vgg19.bin from `folder` (what `nst weights path` prints). */
export async function loadConvertedFolder(folder: string): Promise<Vgg19Weights> {
  const weights = await readConvertedFolder(folder);
  validateWeights(weights);
  return weights;
}

/** The same without validation, for loadWeights (which validates whatever it loads). */
export async function readConvertedFolder(folder: string): Promise<Vgg19Weights> {
  const indexPath = path.join(folder, INDEX_FILE);
  const index = await readIndexFile(indexPath);
  if (!index) throw new NstError('WEIGHTS_NOT_FOUND', `No converted VGG19 weights in ${folder} (no ${INDEX_FILE}).`);
  const blobPath = path.join(folder, index.blob.file);
  const blob = await readWhole(blobPath).catch((cause: unknown) => {
    throw damaged(indexPath, `its blob ${blobPath} cannot be read`, cause);
  });
  if (blob.length !== index.blob.bytes) {
    throw damaged(indexPath, `its blob ${blobPath} holds ${blob.length} bytes, not the ${index.blob.bytes} it lists`);
  }
  const view = (array: StoredArray): Float32Array => {
    if (array.dtype === 'uint8') return dequantizeUint8(blob.subarray(array.offset, array.offset + array.length), array.scale!, array.min!);
    const bytes = blob.subarray(array.offset, array.offset + array.length);
    if (!LITTLE_ENDIAN_HOST) bytes.swap32(); // the file is little-endian everywhere
    return new Float32Array(blob.buffer, blob.byteOffset + array.offset, array.length / 4);
  };
  const layers = new Map<string, ConvWeights>();
  for (const layer of index.layers) {
    const [outChannels = 0, inChannels = 0] = layer.kernel.shape;
    const bias = view(layer.bias);
    const { kernel } = layer;
    // A uint8 kernel stays bytes until a graph reads it (ConvWeights.kernel): ~60 MB less for the whole run.
    if (kernel.dtype === 'uint8') {
      const quantized = { bytes: blob.subarray(kernel.offset, kernel.offset + kernel.length), scale: kernel.scale!, min: kernel.min! };
      layers.set(layer.name, { get kernel() { return dequantizeUint8(quantized.bytes, quantized.scale, quantized.min); }, quantized, bias, inChannels, outChannels });
    } else {
      layers.set(layer.name, { kernel: view(kernel), bias, inChannels, outChannels });
    }
  }
  return { layers, source: `${folder} (${describeSource(index.provenance)})` };
}

/**
 * The whole file into one unpooled buffer (offset 0, so 4-byte aligned for the views) in one read where the OS
 * allows; the length is what is on disk, so a short or long blob shows up as a size mismatch.
 */
async function readWhole(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const buffer = Buffer.allocUnsafeSlow(size);
    for (let offset = 0; offset < size; ) {
      const { bytesRead } = await handle.read(buffer, offset, size - offset, offset);
      if (bytesRead === 0) return buffer.subarray(0, offset);
      offset += bytesRead;
    }
    return buffer;
  } finally {
    await handle.close();
  }
}

export function describeSource(provenance: WeightsProvenance): string {
  const how = { download: 'downloaded from', import: 'imported from', builtin: 'built in:' }[provenance.kind];
  return `${how} ${provenance.source}`;
}

/** Structural checks, so a damaged or foreign index fails here by name rather than as a wrong view later. */
function checkIndex(json: unknown, indexPath: string): WeightsIndex {
  const index = json as Partial<WeightsIndex> | null;
  if (!index || typeof index !== 'object' || index.format !== INDEX_FORMAT) {
    throw damaged(indexPath, `it is not a ${INDEX_FORMAT} index`);
  }
  if (!READABLE_VERSIONS.includes(index.version as number)) {
    throw damaged(indexPath, `it has version ${String(index.version)}; this build reads versions ${READABLE_VERSIONS.join(' and ')}`);
  }
  const blob = index.blob;
  if (!blob || typeof blob.file !== 'string' || path.basename(blob.file) !== blob.file || !isCount(blob.bytes)) {
    throw damaged(indexPath, 'its "blob" entry is missing or malformed');
  }
  if (!Array.isArray(index.layers) || !index.provenance || typeof index.provenance.source !== 'string') {
    throw damaged(indexPath, 'it lacks its "layers" or "provenance"');
  }
  for (const layer of index.layers as unknown[]) {
    const l = layer as Partial<StoredLayer> | null;
    const name = typeof l?.name === 'string' ? l.name : '(unnamed)';
    if (!VGG19_LAYER_NAMES.includes(name)) throw damaged(indexPath, `it lists a layer "${name}" that VGG19 does not have`);
    for (const array of [l?.kernel, l?.bias]) {
      const quantized = index.version === 2 && array?.dtype === 'uint8';
      const fits =
        array &&
        (array.dtype === undefined || quantized) &&
        (!quantized || (Number.isFinite(array.scale) && Number.isFinite(array.min))) &&
        Array.isArray(array.shape) &&
        array.shape.every(isCount) &&
        isCount(array.offset) &&
        isCount(array.length) &&
        (quantized || array.offset % 4 === 0) &&
        array.length === (quantized ? 1 : 4) * array.shape.reduce((a, b) => a * b, 1) &&
        array.offset + array.length <= blob.bytes;
      if (!fits) throw damaged(indexPath, `layer ${name}'s byte range, shape or quantization is inconsistent`);
    }
  }
  return index as WeightsIndex;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The refusal of damaged installed weights, in one sentence: what is wrong and what to do (loading, the Model panel). */
export function damaged(indexPath: string, why: string, cause?: unknown): NstError {
  return new NstError(
    'BAD_WEIGHTS',
    `The installed weights index ${indexPath} is damaged: ${why}. Install the weights again (fetch or import).`,
    cause === undefined ? undefined : { cause },
  );
}

// --- status, verify, remove --------------------------------------------------------------------------------

export interface PartialDownload {
  readonly path: string;
  readonly bytes: number;
}

export interface WeightsStatus {
  readonly paths: StorePaths;
  /** Null when nothing is installed. */
  readonly index: WeightsIndex | null;
  /** Canonical names of the layers present, in network order. */
  readonly layers: readonly string[];
  /** All 16 conv layers present (the default style layers reach block5_conv1). */
  readonly complete: boolean;
  /** Why the installed weights cannot load, from a stat (blob missing or not its listed size); null if none or whole. */
  readonly damage: string | null;
  /** Downloads that can be resumed. */
  readonly partialDownloads: readonly PartialDownload[];
}

export async function weightsStatus(root: string = dataDir()): Promise<WeightsStatus> {
  const paths = storePaths(root);
  const index = await readWeightsIndex(root);
  const layers = index ? VGG19_LAYER_NAMES.filter((name) => index.layers.some((l) => l.name === name)) : [];
  return {
    paths,
    index,
    layers,
    complete: layers.length === VGG19_LAYER_NAMES.length,
    damage: index ? await blobDamage(paths.weights, index) : null,
    partialDownloads: await partialDownloads(paths.downloads),
  };
}

/** readConvertedFolder's first check, from a stat; a flipped bit inside shows only to verifyConvertedWeights. */
async function blobDamage(folder: string, index: WeightsIndex): Promise<string | null> {
  const blobPath = path.join(folder, index.blob.file);
  const info = await stat(blobPath).catch(() => undefined);
  if (!info) return `its blob ${blobPath} is missing`;
  if (!info.isFile()) return `its blob ${blobPath} is not a regular file`;
  if (info.size !== index.blob.bytes) return `its blob ${blobPath} holds ${info.size} bytes, not the ${index.blob.bytes} it lists`;
  return null;
}

async function partialDownloads(folder: string): Promise<PartialDownload[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const found: PartialDownload[] = [];
  for (const name of names.filter((n) => n.endsWith('.part')).sort()) {
    const info = await stat(path.join(folder, name)).catch(() => undefined);
    if (info?.isFile()) found.push({ path: path.join(folder, name), bytes: info.size });
  }
  return found;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly blobPath: string;
  readonly bytes: number;
  readonly expectedSha256: string;
  readonly actualSha256: string;
}

/** Re-hashes the blob against the SHA-256 its index recorded. Throws WEIGHTS_NOT_FOUND when none are installed. */
export async function verifyConvertedWeights(root: string = dataDir()): Promise<VerifyResult> {
  const paths = storePaths(root);
  const index = await readWeightsIndex(root);
  if (!index) throw new NstError('WEIGHTS_NOT_FOUND', `No VGG19 weights are installed in ${paths.weights}.`);
  const blobPath = path.join(paths.weights, index.blob.file);
  const digest = await hashFile(blobPath).catch((cause: unknown) => {
    throw damaged(paths.index, `its blob ${blobPath} cannot be read`, cause);
  });
  return {
    ok: digest.sha256 === index.blob.sha256 && digest.bytes === index.blob.bytes,
    blobPath,
    bytes: digest.bytes,
    expectedSha256: index.blob.sha256,
    actualSha256: digest.sha256,
  };
}

/** Removes the installed weights (index first, so nothing half-removed looks installed) and partial downloads. */
export async function removeConvertedWeights(root: string = dataDir()): Promise<string[]> {
  const paths = storePaths(root);
  const removed: string[] = [];
  const candidates = [paths.index, paths.blob, ...(await partialDownloads(paths.downloads)).map((p) => p.path)];
  for (const file of candidates) {
    const existed = await pathExists(file);
    await rm(file, { force: true });
    await rm(`${file}.json`, { force: true }); // a download's resume record, if any
    if (existed) removed.push(file);
  }
  // Temp files of an install that crashed.
  for (const name of await readdir(paths.weights).catch(() => [] as string[])) {
    if (name.startsWith('.') && name.endsWith('.tmp')) await rm(path.join(paths.weights, name), { force: true });
  }
  return removed;
}

// --- digests -----------------------------------------------------------------------------------------------

export interface FileDigest {
  readonly bytes: number;
  readonly md5: string;
  readonly sha256: string;
}

/**
 * MD5 and SHA-256 of a regular file in one streaming pass. Anything else is refused before a byte is read: the
 * file is opened without blocking (a FIFO would wait for a writer forever) and checked on the open handle (/dev/zero
 * would never end).
 */
export async function hashFile(file: string): Promise<FileDigest> {
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    if (!(await handle.stat()).isFile()) throw new NstError('BAD_WEIGHTS', `${file} is not a regular file, so it is not read.`);
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    let bytes = 0;
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
      const data = chunk as Buffer;
      md5.update(data);
      sha256.update(data);
      bytes += data.length;
    }
    return { bytes, md5: md5.digest('hex'), sha256: sha256.digest('hex') };
  } finally {
    await handle.close();
  }
}
