// Specification of src/engine/io/npy.ts: float32 .npy files as NumPy writes and reads them, and the PyTorch fixtures.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNstError } from '../../src/engine/errors.js';
import { decodeNpyFloat32, encodeNpyFloat32, readNpyFloat32, writeNpyFloat32 } from '../../src/engine/io/npy.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-npy-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

/** A .npy as NumPy would write it with the given version, dictionary and raw little-endian payload. */
function handMade(major: 1 | 2, dictionary: string, payload: Uint8Array): Uint8Array {
  const preamble = major === 1 ? 10 : 12;
  const headerLength = Math.ceil((preamble + dictionary.length + 1) / 64) * 64 - preamble;
  const bytes = new Uint8Array(preamble + headerLength + payload.length);
  bytes.set([0x93, ...Buffer.from('NUMPY'), major, 0]);
  const view = new DataView(bytes.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  bytes.set(Buffer.from(dictionary.padEnd(headerLength - 1, ' ') + '\n', 'latin1'), preamble);
  bytes.set(payload, preamble + headerLength);
  return bytes;
}

function expectBadNpy(action: () => unknown, message: RegExp): void {
  try {
    action();
  } catch (error) {
    expect(isNstError(error) && error.code).toBe('BAD_ARGUMENT');
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected BAD_ARGUMENT');
}

describe('writing and reading float32 .npy', () => {
  it('round-trips data and shape exactly, including awkward values', async () => {
    const data = Float32Array.of(0, -0, 1.5, -2.25, 3.4028234663852886e38, 1e-45, Number.NaN, Infinity, -Infinity, 42, 7, 8);
    for (const shape of [[12], [3, 4], [2, 3, 2], [1, 1, 12]]) {
      const file = path.join(dir, `round-${shape.join('x')}.npy`);
      await writeNpyFloat32(file, data, shape);
      const back = await readNpyFloat32(file);
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(data)); // toEqual treats NaN as equal to NaN and keeps -0
      expect(Object.is(back.data[1], -0)).toBe(true);
    }
  });

  it('writes the header NumPy writes: v1.0, 64-byte aligned, a Python dict ending in a newline', () => {
    const bytes = encodeNpyFloat32(new Float32Array(6), [2, 3]);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes[8]! | (bytes[9]! << 8);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes.length).toBe(10 + headerLength + 24);
    expect(text(bytes.subarray(10, 10 + headerLength))).toMatch(
      /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/,
    );
    // Python spells 1-tuples with a trailing comma and the empty tuple as ().
    expect(text(encodeNpyFloat32(new Float32Array(5), [5]))).toContain("'shape': (5,), ");
    expect(text(encodeNpyFloat32(Float32Array.of(9), []))).toContain("'shape': (), ");
  });

  it('reads a scalar (shape ()) and an empty array', () => {
    expect(decodeNpyFloat32(encodeNpyFloat32(Float32Array.of(2.5), []))).toEqual({ data: Float32Array.of(2.5), shape: [] });
    expect(decodeNpyFloat32(encodeNpyFloat32(new Float32Array(0), [0, 3]))).toEqual({ data: new Float32Array(0), shape: [0, 3] });
  });

  it('reads version 2.0 headers (4-byte header length)', () => {
    const payload = new Uint8Array(Float32Array.of(1, 2, 3, 4, 5, 6).buffer);
    const bytes = handMade(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", payload);
    expect(decodeNpyFloat32(bytes)).toEqual({ data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2] });
  });

  it('reads big-endian float32 and data that is not 4-byte aligned in memory', () => {
    const big = new Uint8Array(8);
    new DataView(big.buffer).setFloat32(0, 1.25, false);
    new DataView(big.buffer).setFloat32(4, -3, false);
    const bytes = handMade(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", big);
    expect(Array.from(decodeNpyFloat32(bytes).data)).toEqual([1.25, -3]);
    const shifted = new Uint8Array(bytes.length + 1);
    const little = encodeNpyFloat32(Float32Array.of(1.25, -3), [2]);
    shifted.set(little, 1);
    expect(Array.from(decodeNpyFloat32(shifted.subarray(1)).data)).toEqual([1.25, -3]);
  });

  it('refuses what it cannot read faithfully, saying why', () => {
    const f8 = handMade(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8));
    expectBadNpy(() => decodeNpyFloat32(f8, 'grad.npy'), /grad\.npy is not a float32 \.npy file: its values are '<f8'/);
    const fortran = handMade(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16));
    expectBadNpy(() => decodeNpyFloat32(fortran), /Fortran/);
    expectBadNpy(() => decodeNpyFloat32(Buffer.from('PK\u0003\u0004 a zip, not an npy')), /does not start with/);
    const short = encodeNpyFloat32(new Float32Array(6), [2, 3]).subarray(0, 128 + 20);
    expectBadNpy(() => decodeNpyFloat32(short), /needs 24 bytes of data but only 20 follow/);
    expectBadNpy(() => encodeNpyFloat32(new Float32Array(5), [2, 3]), /shape \[2, 3\] holds 6 values but the data has 5/);
  });

  it('a missing file: FILE_NOT_FOUND naming it', async () => {
    const missing = path.join(dir, 'absent.npy');
    await expect(readNpyFloat32(missing)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: `No file at ${missing}.` });
  });
});

const FIXTURES = ['f32-block1-3-max', 'uint8-gatys-avg-blend'];

describe.skipIf(!hasShared('fixtures'))('the PyTorch gradient fixtures', () => {
  for (const name of FIXTURES) {
    it(`reads ${name}.grad.npy as [H, W, 3] matching its image`, async () => {
      const spec = JSON.parse(await readFile(sharedPath('fixtures', `${name}.json`), 'utf8')) as { grad: string; image: string };
      const { width, height } = await sharp(sharedPath('fixtures', spec.image)).metadata();
      const grad = await readNpyFloat32(sharedPath('fixtures', spec.grad));
      expect(grad.shape).toEqual([height, width, 3]);
      expect(grad.data.length).toBe(height * width * 3);
      let sumSquares = 0;
      for (const v of grad.data) sumSquares += v * v;
      expect(Number.isFinite(sumSquares)).toBe(true);
      expect(sumSquares).toBeGreaterThan(0);
    });
  }

  it('the sizes are the ones the fixture names promise: [64, 64, 3] and [48, 64, 3]', async () => {
    expect((await readNpyFloat32(sharedPath('fixtures', 'f32-block1-3-max.grad.npy'))).shape).toEqual([64, 64, 3]);
    expect((await readNpyFloat32(sharedPath('fixtures', 'uint8-gatys-avg-blend.grad.npy'))).shape).toEqual([48, 64, 3]);
  });

  it('reads the fixture bytes as NumPy does (first values) and re-encodes them to the same bytes', async () => {
    const bytes = await readFile(sharedPath('fixtures', 'f32-block1-3-max.grad.npy'));
    const grad = decodeNpyFloat32(bytes);
    // Printed by numpy.load(...).ravel()[:3]: 6.039473, 8.154766, -11.39558.
    expect(grad.data[0]).toBeCloseTo(6.039473, 5);
    expect(grad.data[1]).toBeCloseTo(8.154766, 5);
    expect(grad.data[2]).toBeCloseTo(-11.39558, 4);
    expect(Buffer.from(encodeNpyFloat32(grad.data, grad.shape)).equals(bytes)).toBe(true);
  });
});
