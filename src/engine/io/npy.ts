// NumPy .npy files of float32 (C order): how gradients are exchanged with the PyTorch reference fixtures.

import { readFile } from 'node:fs/promises';
import { NstError } from '../errors.js';
import { writeFileAtomic } from '../sys/atomic-file.js';
import { LITTLE_ENDIAN_HOST } from '../sys/endian.js';

export interface NpyFloat32 {
  readonly data: Float32Array;
  readonly shape: number[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** NumPy pads the header so the data starts on a 64-byte boundary (aligned memory maps). */
const HEADER_ALIGNMENT = 64;

/**
 * Encodes `data` as a version 1.0 .npy (descr '<f4', C order). The product of `shape` must equal data.length;
 * shape [] is a scalar (one value).
 */
export function encodeNpyFloat32(data: Float32Array, shape: readonly number[]): Uint8Array {
  for (const [axis, extent] of shape.entries()) {
    if (!Number.isSafeInteger(extent) || extent < 0) {
      throw new NstError('BAD_ARGUMENT', `shape[${axis}] must be a whole number of at least 0, got ${String(extent)}.`);
    }
  }
  const count = shape.reduce((product, extent) => product * extent, 1);
  if (count !== data.length) {
    throw new NstError(
      'BAD_ARGUMENT',
      `shape [${shape.join(', ')}] holds ${count} values but the data has ${data.length}.`,
    );
  }
  // Python's repr of a tuple: a 1-tuple needs its trailing comma.
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dictionary = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const preamble = MAGIC.length + 2 + 2;
  const unpadded = preamble + dictionary.length + 1; // + the closing newline
  const headerLength = Math.ceil(unpadded / HEADER_ALIGNMENT) * HEADER_ALIGNMENT - preamble;
  if (headerLength > 0xffff) throw new NstError('BAD_ARGUMENT', `shape [${shape.join(', ')}] is too long for a .npy v1.0 header.`);

  const bytes = new Uint8Array(preamble + headerLength + data.length * 4);
  bytes.set(MAGIC, 0);
  bytes[6] = 1; // major version
  bytes[7] = 0; // minor version
  new DataView(bytes.buffer).setUint16(8, headerLength, true);
  const header = dictionary.padEnd(headerLength - 1, ' ') + '\n';
  for (let i = 0; i < header.length; i++) bytes[preamble + i] = header.charCodeAt(i);
  writeFloat32LittleEndian(bytes, preamble + headerLength, data);
  return bytes;
}

/**
 * Decodes a .npy of float32 in C order: versions 1.0, 2.0 and 3.0 headers; '<f4' (and '>f4', swapped).
 * `label` names the source in error messages.
 */
export function decodeNpyFloat32(bytes: Uint8Array, label = 'The .npy data'): NpyFloat32 {
  const bad = (why: string): NstError => new NstError('BAD_ARGUMENT', `${label} is not a float32 .npy file: ${why}.`);
  if (bytes.length < 10 || MAGIC.some((byte, i) => bytes[i] !== byte)) throw bad('it does not start with \\x93NUMPY');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('the header is cut short');
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw bad(`format version ${major} is not one NumPy has defined`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw bad('the header is cut short');
  // v1/v2 headers are latin-1, v3 UTF-8; the parts we read are ASCII either way.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  if (descr === undefined) throw bad('its header has no descr');
  if (descr !== '<f4' && descr !== '>f4') throw bad(`its values are '${descr}', not float32 ('<f4')`);
  const fortranOrder = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortranOrder === undefined) throw bad('its header has no fortran_order');
  if (fortranOrder === 'True') throw bad('it is in Fortran (column-major) order; save it with C order');
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw bad('its header has no shape');
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => (/^\d+L?$/.test(part) ? Number.parseInt(part, 10) : Number.NaN));
  if (shape.some((extent) => !Number.isSafeInteger(extent))) throw bad(`its shape (${shapeText}) is not a tuple of whole numbers`);

  const count = shape.reduce((product, extent) => product * extent, 1);
  if (bytes.length - dataStart < count * 4) {
    throw bad(`shape (${shape.join(', ')}) needs ${count * 4} bytes of data but only ${bytes.length - dataStart} follow the header`);
  }
  return { data: readFloat32(bytes, dataStart, count, descr === '<f4'), shape };
}

/**
 * Writes `data` with `shape` as a .npy v1.0 file (little-endian float32, C order), through a temporary file and a
 * rename: a kill or a full disk leaves the file that was there, never half a gradient under its name.
 */
export async function writeNpyFloat32(filePath: string, data: Float32Array, shape: readonly number[]): Promise<void> {
  await writeFileAtomic(filePath, encodeNpyFloat32(data, shape));
}

/** Reads a float32 .npy from a path or from its bytes. Missing file: FILE_NOT_FOUND; anything else wrong: BAD_ARGUMENT. */
export async function readNpyFloat32(source: string | Uint8Array): Promise<NpyFloat32> {
  if (typeof source !== 'string') return decodeNpyFloat32(source);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(source);
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NstError('FILE_NOT_FOUND', `No file at ${source}.`, { cause: error });
    throw error;
  }
  return decodeNpyFloat32(bytes, source);
}

function writeFloat32LittleEndian(target: Uint8Array, offset: number, data: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    target.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    return;
  }
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  for (let i = 0; i < data.length; i++) view.setFloat32(offset + i * 4, data[i]!, true);
}

/** Copies `count` float32 values out of `bytes` (a Buffer's data need not be 4-byte aligned, so never view it in place). */
function readFloat32(bytes: Uint8Array, offset: number, count: number, littleEndian: boolean): Float32Array {
  const out = new Float32Array(count);
  if (littleEndian === LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, littleEndian);
  return out;
}
