// Loads VGG19 conv weights from a Keras .h5 file (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 and kin).

import fs from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset as H5Dataset, Group as H5Group } from 'h5wasm/node';
import { NstError } from '../errors.js';
import { VGG19_LAYER_NAMES } from '../model/vgg19.js';
import { kerasConv, type ShapedArray } from './tfjs.js';
import type { ConvWeights, Vgg19Weights } from './types.js';

type H5wasm = (typeof import('h5wasm/node'))['default'];

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function loadKerasH5Weights(filePath: string): Promise<Vgg19Weights> {
  const absolute = path.resolve(filePath);
  await requireHdf5File(absolute);
  const h5 = await h5wasmModule();
  // The Node build of h5wasm uses NODERAWFS: its file system is the host's, so the file opens in place
  // (no copy into an in-memory FS, nothing to clean up but the handle). Opening and reading are synchronous.
  return quietHdf5(() => onlyOpening(absolute, () => {
    const file = openH5(h5, absolute);
    try {
      const root = weightsRoot(h5, file, absolute);
      const layers = new Map<string, ConvWeights>();
      for (const layer of VGG19_LAYER_NAMES) {
        const group = root.keys().includes(layer) ? entry(root, layer, absolute) : null;
        if (group instanceof h5.Group) layers.set(layer, readLayer(h5, group, layer, absolute));
      }
      if (layers.size === 0) {
        throw badWeights(`${absolute} has no VGG19 layer groups (block1_conv1 …): not Keras VGG19 weights.`);
      }
      return { layers, source: `keras-h5:${absolute}` };
    } finally {
      file.close();
    }
  }));
}

/**
 * Runs `work` (synchronous h5wasm calls) letting the HDF5 library open `absolute` and nothing else. External links,
 * virtual datasets and external raw storage make it open other files by name, and a FIFO named there would block
 * the event loop for good (NODERAWFS opens synchronously); a weights file that needs another file is not one.
 */
function onlyOpening<T>(absolute: string, work: () => T): T {
  const openSync = fs.openSync;
  const guarded = function (this: unknown, file: fs.PathLike, ...rest: unknown[]): number {
    if (path.resolve(String(file)) !== absolute) {
      // An errno code, which NODERAWFS turns into a failed open for the library (no throw through the WASM).
      throw Object.assign(new Error(`${String(file)} is not the weights file`), { code: 'EACCES' });
    }
    return (openSync as (...args: unknown[]) => number).call(this, file, ...rest);
  };
  fs.openSync = guarded as typeof fs.openSync;
  try {
    return work();
  } finally {
    fs.openSync = openSync;
  }
}

/** A group's member, refusing an external link before anything follows it (HDF5 would open the file it names). */
function entry(group: H5Group, name: string, file: string): ReturnType<H5Group['get']> {
  const memberPath = `${group.path === '/' ? '' : group.path}/${name}`;
  const link = group.get_external_link(memberPath) as { filename?: string } | undefined;
  if (link?.filename !== undefined) {
    throw badWeights(`${file}: ${memberPath} is a link to another file (${JSON.stringify(link.filename)}); weights files that link outside themselves are not read.`);
  }
  return group.get(name);
}

/**
 * The HDF5 library prints its error stack ("HDF5-DIAG: …", dozens of lines) straight to file descriptor 2, which
 * under NODERAWFS is a synchronous fs.writeSync. While `work` runs (synchronously, so nothing else can write),
 * that output is held back; on failure its last "minor:" reason is added to the error, which stays one line.
 */
function quietHdf5<T>(work: () => T): T {
  const writeSync = fs.writeSync;
  let diagnostics = '';
  const held = function (this: unknown, fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number {
    if (fd !== 2) return (writeSync as (...args: unknown[]) => number).call(this, fd, data, ...rest);
    if (typeof data === 'string') {
      diagnostics += data;
      return Buffer.byteLength(data);
    }
    const [offset = 0, length = data.byteLength - Number(offset)] = rest as [number?, number?];
    diagnostics += Buffer.from(data.buffer, data.byteOffset + offset, length).toString('utf8');
    return length;
  };
  fs.writeSync = held as typeof fs.writeSync;
  try {
    return work();
  } catch (error) {
    const reason = [...diagnostics.matchAll(/minor: (.+)/g)].at(-1)?.[1]?.trim();
    if (reason && error instanceof NstError && !error.message.includes('HDF5 says')) {
      error.message = `${error.message.replace(/\.$/, '')} (HDF5 says: ${reason}).`;
    }
    throw error;
  } finally {
    fs.writeSync = writeSync;
  }
}

/** True when `bytes` start with the HDF5 signature. Exported for format sniffing. */
export function hasHdf5Signature(bytes: Uint8Array): boolean {
  return bytes.length >= HDF5_SIGNATURE.length && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Checks the signature ourselves: h5wasm does not throw on a non-HDF5 file, it prints the C library's error
 * stack and hands back a dead handle. HDF5 allows a user block, so the signature may sit at 0, 512, 1024, …
 */
async function requireHdf5File(absolute: string): Promise<void> {
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new NstError('FILE_NOT_FOUND', `Weights file ${absolute} does not exist.`);
  if (!info.isFile()) throw badWeights(`${absolute} is not a file, so it cannot be a Keras .h5 weights file.`);
  const handle = await open(absolute, 'r');
  try {
    const head = Buffer.alloc(HDF5_SIGNATURE.length);
    for (let offset = 0; offset + head.length <= info.size; offset = offset === 0 ? 512 : offset * 2) {
      await handle.read(head, 0, head.length, offset);
      if (hasHdf5Signature(head)) return;
    }
  } finally {
    await handle.close();
  }
  throw badWeights(`${absolute} is not an HDF5 file (no HDF5 signature), so it cannot be Keras .h5 weights.`);
}

let h5wasmPromise: Promise<H5wasm> | undefined;

/** Loaded on first use: the WASM module is a few MB and most runs never read .h5. */
function h5wasmModule(): Promise<H5wasm> {
  h5wasmPromise ??= importH5wasm();
  return h5wasmPromise;
}

/**
 * Emscripten's environment check mistakes Electron (which defines `navigator`) for a browser; h5wasm's README
 * prescribes hiding `navigator` while the module initialises.
 */
async function importH5wasm(): Promise<H5wasm> {
  const navigatorDescriptor = process.versions['electron']
    ? Object.getOwnPropertyDescriptor(globalThis, 'navigator')
    : undefined;
  if (navigatorDescriptor?.configurable) {
    Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true });
  }
  try {
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    return h5;
  } finally {
    if (navigatorDescriptor?.configurable) Object.defineProperty(globalThis, 'navigator', navigatorDescriptor);
  }
}

function openH5(h5: H5wasm, absolute: string): InstanceType<H5wasm['File']> {
  let file: InstanceType<H5wasm['File']>;
  try {
    file = new h5.File(absolute, 'r');
  } catch (cause) {
    throw badWeights(`${absolute} could not be opened as HDF5 (damaged or truncated?).`, cause);
  }
  if (file.file_id < 0n) throw badWeights(`${absolute} could not be opened as HDF5 (damaged or truncated?).`);
  return file;
}

/** A whole saved model (`model.save`) keeps the weights under /model_weights; a weights file at the root. */
function weightsRoot(h5: H5wasm, file: H5Group, absolute: string): H5Group {
  const nested = file.keys().includes('model_weights') ? entry(file, 'model_weights', absolute) : null;
  return nested instanceof h5.Group ? nested : file;
}

/**
 * Older Keras writes /block1_conv1/block1_conv1_W_1:0 and _b_1:0, newer /block1_conv1/block1_conv1/kernel:0 and
 * bias:0: rather than match names, take the group's one 4-D dataset as the kernel and its one 1-D as the bias.
 */
function readLayer(h5: H5wasm, group: H5Group, layer: string, file: string): ConvWeights {
  const datasets = datasetsUnder(h5, group, layer, file);
  const kernels = datasets.filter((d) => d.shape?.length === 4);
  const biases = datasets.filter((d) => d.shape?.length === 1);
  if (kernels.length > 1 || biases.length > 1) {
    throw badWeights(`Layer ${layer} in ${file} has ${kernels.length} 4-D and ${biases.length} 1-D datasets; expected one of each.`);
  }
  const kernel = kernels[0];
  const bias = biases[0];
  return kerasConv(
    layer,
    kernel && readFloats(kernel, layer, file),
    bias && readFloats(bias, layer, file),
    file,
  );
}

/**
 * Keras nests a layer's arrays at most two groups deep (/block1_conv1/block1_conv1/kernel:0). HDF5 links can make
 * a group its own descendant, which walked blindly never ends: deeper than this is refused, not followed.
 */
const MAX_GROUP_DEPTH = 4;

function datasetsUnder(h5: H5wasm, group: H5Group, layer: string, file: string, depth = 1): H5Dataset[] {
  if (depth > MAX_GROUP_DEPTH) {
    throw badWeights(`Layer ${layer} in ${file} nests groups deeper than Keras writes them (a link cycle?): not Keras VGG19 weights.`);
  }
  const found: H5Dataset[] = [];
  for (const name of group.keys()) {
    let child: ReturnType<H5Group['get']>;
    try {
      child = entry(group, name, file);
    } catch (cause) {
      if (cause instanceof NstError) throw cause;
      throw badWeights(`Layer ${layer} in ${file} has an entry "${name}" that cannot be read (a broken or looping link?).`, cause);
    }
    if (child instanceof h5.Dataset) found.push(child);
    else if (child instanceof h5.Group) found.push(...datasetsUnder(h5, child, layer, file, depth + 1));
  }
  return found;
}

/** The most values one VGG19 array holds (a 3x3 kernel from 512 to 512 channels). */
const MAX_VGG19_ARRAY_VALUES = 3 * 3 * 512 * 512;

function readFloats(dataset: H5Dataset, layer: string, file: string): ShapedArray {
  const shape = dataset.shape ?? [];
  // The shape is in the header; the values may not exist at all (an unwritten chunked dataset reads as fill
  // values). A few-KB file can declare billions of them: judge the size before anything is read.
  const count = shape.reduce((product, d) => product * Number(d), 1);
  if (!(count <= MAX_VGG19_ARRAY_VALUES)) {
    throw badWeights(`Layer ${layer} in ${file}: dataset ${dataset.path} has shape [${shape.join(', ')}], more values than any VGG19 layer holds.`);
  }
  const value = dataset.value;
  if (value instanceof Float32Array) return { shape, values: value };
  // Float64 is legal HDF5 for weights; the graph runs in float32 anyway.
  if (value instanceof Float64Array) return { shape, values: Float32Array.from(value) };
  throw badWeights(`Layer ${layer} in ${file}: dataset ${dataset.path} holds ${String(dataset.dtype)} values, not floats.`);
}

function badWeights(message: string, cause?: unknown): NstError {
  return new NstError('BAD_WEIGHTS', message, cause === undefined ? undefined : { cause });
}
