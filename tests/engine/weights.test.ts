// Specification of the weights loaders: TF.js (float32 and quantized), Keras .h5, ONNX zoo, random, and validation.

import { createHash } from 'node:crypto';
import { chmod, cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NstError } from '../../src/engine/errors.js';
import { createRng } from '../../src/engine/sys/random.js';
import { VGG19_CONV_LAYERS, VGG19_LAYER_NAMES } from '../../src/engine/model/vgg19.js';
import { loadKerasH5Weights } from '../../src/engine/weights/keras-h5.js';
import { detectWeightsFormat, loadWeights, validateWeights } from '../../src/engine/weights/load.js';
import { loadOnnxZooWeights } from '../../src/engine/weights/onnx-zoo.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { loadTfjsWeights } from '../../src/engine/weights/tfjs.js';
import type { ConvWeights, Vgg19Weights } from '../../src/engine/weights/types.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const { onnx } = onnxProto;

const FLOAT32_DIR = ['data', 'vgg19-imagenet-block1-3'] as const;
const UINT8_DIR = ['data', 'vgg19-imagenet-uint8'] as const;
const UINT8_SHA256 = '936f3568bf8182cdefd43f081e6ec53dbe2be9d018ee2744ad657fb3c0b9da89';
const hasFloat32 = hasShared(...FLOAT32_DIR);
const hasUint8 = hasShared(...UINT8_DIR);

let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nst-weights-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// --- writers for synthetic files, written independently of the loaders -----------------------------------

/** OIHW [out, in, 3, 3] -> Keras HWIO [3, 3, in, out], index by index. */
function oihwToHwio(layer: ConvWeights): Float32Array {
  const { inChannels: ci, outChannels: co } = layer;
  const hwio = new Float32Array(layer.kernel.length);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++)
      for (let h = 0; h < 3; h++)
        for (let w = 0; w < 3; w++) hwio[((h * 3 + w) * ci + i) * co + o] = layer.kernel[((o * ci + i) * 3 + h) * 3 + w]!;
  return hwio;
}

function float32Bytes(values: Float32Array): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes;
}

interface TfjsEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly bytes: Buffer;
  readonly quantization?: { dtype: 'uint8' | 'uint16'; scale: number; min: number };
}

/** One group per entry pair, one shard per group, as the TF.js converter writes small models. */
async function writeTfjsFolder(dir: string, groups: readonly (readonly TfjsEntry[])[]): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const manifest = await Promise.all(
    groups.map(async (entries, g) => {
      const shard = `group${g + 1}-shard1of1.bin`;
      await writeFile(path.join(dir, shard), Buffer.concat(entries.map((e) => e.bytes)));
      return {
        paths: [shard],
        weights: entries.map(({ name, shape, quantization }) => ({ name, shape, dtype: 'float32', quantization })),
      };
    }),
  );
  await writeFile(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', weightsManifest: manifest }));
  return dir;
}

function tfjsGroups(weights: Vgg19Weights, prefix = ''): TfjsEntry[][] {
  return [...weights.layers].map(([name, layer]) => [
    { name: `${prefix}${name}/kernel`, shape: [3, 3, layer.inChannels, layer.outChannels], bytes: float32Bytes(oihwToHwio(layer)) },
    { name: `${prefix}${name}/bias`, shape: [layer.outChannels], bytes: float32Bytes(layer.bias) },
  ]);
}

type H5Style = 'old' | 'new' | 'saved-model';

/** Keras 1/2.0 (`block1_conv1_W_1:0`), Keras 2.x (`block1_conv1/kernel:0`), or a whole saved model. */
async function writeKerasH5(file: string, weights: Vgg19Weights, style: H5Style): Promise<string> {
  await h5wasm.ready;
  const h5 = new h5wasm.File(file, 'w');
  const root = style === 'saved-model' ? h5.create_group('model_weights') : h5;
  for (const [name, layer] of weights.layers) {
    const group = root.create_group(name);
    const holder = style === 'old' ? group : group.create_group(name);
    const [kernelName, biasName] = style === 'old' ? [`${name}_W_1:0`, `${name}_b_1:0`] : ['kernel:0', 'bias:0'];
    holder.create_dataset({ name: kernelName, data: oihwToHwio(layer), shape: [3, 3, layer.inChannels, layer.outChannels], dtype: '<f' });
    holder.create_dataset({ name: biasName, data: layer.bias, shape: [layer.outChannels], dtype: '<f' });
  }
  h5.close();
  return file;
}

/** A zoo-like graph: Conv/Relu/MaxPool in VGG order, a 1x1 Conv and a Gemm head that must be ignored. */
async function writeOnnxZoo(file: string, weights: Vgg19Weights): Promise<string> {
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  let input = 'data';
  [...weights.layers].forEach(([, layer], k) => {
    const [w, b] = [`vgg0_conv${k}_weight`, `vgg0_conv${k}_bias`];
    // Exercise both storage forms: raw little-endian bytes, and the repeated float field.
    const store = k % 2 === 0 ? { rawData: float32Bytes(layer.kernel) } : { floatData: [...layer.kernel] };
    initializers.push(onnx.TensorProto.create({ name: w, dims: [layer.outChannels, layer.inChannels, 3, 3], dataType: 1, ...store }));
    initializers.push(onnx.TensorProto.create({ name: b, dims: [layer.outChannels], dataType: 1, rawData: float32Bytes(layer.bias) }));
    nodes.push(onnx.NodeProto.create({ opType: 'Conv', name: `vgg0_conv${k}_fwd`, input: [input, w, b], output: [`c${k}`] }));
    nodes.push(onnx.NodeProto.create({ opType: 'Relu', input: [`c${k}`], output: [`r${k}`] }));
    input = `r${k}`;
  });
  initializers.push(onnx.TensorProto.create({ name: 'head_w', dims: [2, 2, 1, 1], dataType: 1, floatData: [1, 2, 3, 4] }));
  initializers.push(onnx.TensorProto.create({ name: 'fc_w', dims: [2, 2], dataType: 1, floatData: [1, 0, 0, 1] }));
  nodes.push(onnx.NodeProto.create({ opType: 'MaxPool', input: [input], output: ['p'] }));
  nodes.push(onnx.NodeProto.create({ opType: 'Conv', input: ['p', 'head_w'], output: ['h'] }));
  nodes.push(onnx.NodeProto.create({ opType: 'Gemm', input: ['h', 'fc_w'], output: ['out'] }));
  const model = onnx.ModelProto.create({
    irVersion: 3,
    opsetImport: [{ domain: '', version: 7 }],
    graph: { name: 'vgg19', node: nodes, initializer: initializers },
  });
  await writeFile(file, onnx.ModelProto.encode(model).finish());
  return file;
}

function expectSameWeights(actual: Vgg19Weights, expected: Vgg19Weights): void {
  expect([...actual.layers.keys()]).toEqual([...expected.layers.keys()]);
  for (const [name, layer] of expected.layers) {
    const got = actual.layers.get(name)!;
    expect({ name, in: got.inChannels, out: got.outChannels }).toEqual({ name, in: layer.inChannels, out: layer.outChannels });
    expect(got.kernel).toEqual(layer.kernel);
    expect(got.bias).toEqual(layer.bias);
  }
}

const tiny = (): Vgg19Weights => randomVgg19Weights({ seed: 7, channelScale: 1 / 16 });
/** Real VGG19 shapes, two layers deep: small enough to write in every test. */
const fullTwoLayers = (): Vgg19Weights => randomVgg19Weights({ seed: 3, depth: 2 });

function rejectsWith(promise: Promise<unknown>, code: NstError['code'], message: RegExp): Promise<void> {
  return expect(promise).rejects.toMatchObject({ name: 'NstError', code, message: expect.stringMatching(message) });
}

function throwsWith(action: () => unknown, code: NstError['code'], message: RegExp): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(NstError);
  expect(caught).toMatchObject({ code, message: expect.stringMatching(message) });
}

// --- real data ------------------------------------------------------------------------------------------------

describe.skipIf(!hasFloat32)('TF.js float32 folder (real ImageNet VGG19, blocks 1-3)', () => {
  it('loads block1_conv1 … block3_conv4 with the VGG19 table shapes', async () => {
    const weights = await loadWeights(sharedPath(...FLOAT32_DIR));
    expect([...weights.layers.keys()]).toEqual(VGG19_LAYER_NAMES.slice(0, 8));
    for (const spec of VGG19_CONV_LAYERS.slice(0, 8)) {
      const layer = weights.layers.get(spec.name)!;
      expect([layer.outChannels, layer.inChannels]).toEqual([spec.outChannels, spec.inChannels]);
      expect(layer.kernel.length).toBe(spec.outChannels * spec.inChannels * 9);
      expect(layer.bias.length).toBe(spec.outChannels);
    }
    expect(weights.source).toMatch(/^tfjs:.*model\.json$/);
  });

  it('turns the HWIO kernel into OIHW: kernel[o][i][h][w] is the shard float at [h][w][i][o]', async () => {
    const weights = await loadTfjsWeights(sharedPath(...FLOAT32_DIR, 'model.json'));
    const shard = await readFile(sharedPath(...FLOAT32_DIR, 'group1-shard1of1'));
    const layer = weights.layers.get('block1_conv1')!;
    for (let o = 0; o < 64; o++)
      for (let i = 0; i < 3; i++)
        for (let h = 0; h < 3; h++)
          for (let w = 0; w < 3; w++) {
            const stored = shard.readFloatLE((((h * 3 + w) * 3 + i) * 64 + o) * 4);
            expect(layer.kernel[((o * 3 + i) * 3 + h) * 3 + w]).toBe(stored);
          }
    expect(layer.bias[0]).toBe(shard.readFloatLE(27 * 64 * 4));
  });

  it('holds block1_conv1 … block3_conv4 and nothing deeper (the folder\'s eight layers)', async () => {
    const weights = await loadWeights(sharedPath(...FLOAT32_DIR));
    expect([...weights.layers.keys()]).toEqual(VGG19_LAYER_NAMES.slice(0, 8));
  });

  it('rejects a truncated shard, naming it', async () => {
    const copy = path.join(tmp, 'truncated');
    await cp(sharedPath(...FLOAT32_DIR), copy, { recursive: true });
    // The shared data is read-only and cp keeps modes: make the copy writable (and removable afterwards).
    await chmod(copy, 0o755);
    await chmod(path.join(copy, 'group5-shard1of1'), 0o644);
    await truncate(path.join(copy, 'group5-shard1of1'), 1000);
    await rejectsWith(loadWeights(copy), 'BAD_WEIGHTS', /group5-shard1of1.*truncated/);
  });
});

describe.skipIf(!hasUint8)('TF.js uint8 folder (real ImageNet VGG19, all 16 layers)', () => {
  it('holds the bytes the README describes (SHA-256 of the shards in manifest order)', async () => {
    const manifest = JSON.parse(await readFile(sharedPath(...UINT8_DIR, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const hash = createHash('sha256');
    for (const group of manifest.weightsManifest)
      for (const shard of group.paths) hash.update(await readFile(sharedPath(...UINT8_DIR, shard)));
    expect(hash.digest('hex')).toBe(UINT8_SHA256);
  });

  it('loads all 16 layers with the VGG19 table shapes', async () => {
    const weights = await loadWeights(sharedPath(...UINT8_DIR));
    expect([...weights.layers.keys()]).toEqual(VGG19_LAYER_NAMES);
  });

  it.skipIf(!hasFloat32)('dequantizes blocks 1-3 to within half a quantization step of the float32 copy', async () => {
    const [quantized, exact] = await Promise.all([loadWeights(sharedPath(...UINT8_DIR)), loadWeights(sharedPath(...FLOAT32_DIR))]);
    const manifest = JSON.parse(await readFile(sharedPath(...UINT8_DIR, 'model.json'), 'utf8')) as {
      weightsManifest: { weights: { name: string; quantization: { scale: number } }[] }[];
    };
    const scales = new Map(manifest.weightsManifest.flatMap((g) => g.weights.map((w) => [w.name, w.quantization.scale])));
    for (const name of VGG19_LAYER_NAMES.slice(0, 8)) {
      for (const role of ['kernel', 'bias'] as const) {
        const q = quantized.layers.get(name)![role];
        const f = exact.layers.get(name)![role];
        let worst = 0;
        for (let i = 0; i < f.length; i++) worst = Math.max(worst, Math.abs(q[i]! - f[i]!));
        // Half a step, plus float32 rounding of the dequantized value.
        expect({ name, role, within: worst <= scales.get(`${name}/${role}`)! * 0.5 + 1e-6 }).toEqual({ name, role, within: true });
      }
    }
  });
});

// --- synthetic files in every format ------------------------------------------------------------------------

describe('TF.js layers models', () => {
  it('round-trips float32 weights, with a model prefix on the weight names', async () => {
    const weights = tiny();
    const dir = await writeTfjsFolder(path.join(tmp, 'tfjs-prefixed'), tfjsGroups(weights, 'vgg19/'));
    expectSameWeights(await loadTfjsWeights(dir), weights);
  });

  it('dequantizes uint16 as q * scale + min, rounded to float32', async () => {
    const codes = Uint16Array.from({ length: 27 * 2 }, (_, i) => i * 1000);
    const biasCodes = Uint8Array.from([0, 255]);
    const kernelQ = { dtype: 'uint16' as const, scale: 0.0001, min: -2.5 };
    const biasQ = { dtype: 'uint8' as const, scale: 0.01, min: -1 };
    const dir = await writeTfjsFolder(path.join(tmp, 'tfjs-uint16'), [
      [
        { name: 'block1_conv1/kernel', shape: [3, 3, 3, 2], bytes: Buffer.from(codes.buffer), quantization: kernelQ },
        { name: 'block1_conv1/bias', shape: [2], bytes: Buffer.from(biasCodes), quantization: biasQ },
      ],
    ]);
    const layer = (await loadTfjsWeights(path.join(dir, 'model.json'))).layers.get('block1_conv1')!;
    // HWIO index 1 is (h0, w0, i0, o1): OIHW index 27.
    expect(layer.kernel[27]).toBe(Math.fround(1000 * 0.0001 - 2.5));
    expect(layer.kernel[0]).toBe(Math.fround(-2.5));
    expect([...layer.bias]).toEqual([Math.fround(-1), Math.fround(255 * 0.01 - 1)]);
  });
});

describe('Keras .h5 files', () => {
  it.each(['old', 'new', 'saved-model'] as const)('round-trips a tiny random VGG written in the %s layout', async (style) => {
    const weights = tiny();
    const file = await writeKerasH5(path.join(tmp, `tiny-${style}.h5`), weights, style);
    const loaded = await loadKerasH5Weights(file);
    expectSameWeights(loaded, weights);
    expect(loaded.source).toBe(`keras-h5:${file}`);
  });

  it('is detected by its HDF5 signature whatever its extension', async () => {
    const weights = fullTwoLayers();
    const file = await writeKerasH5(path.join(tmp, 'full-two.weights'), weights, 'new');
    expect(await detectWeightsFormat(file)).toBe('keras-h5');
    expectSameWeights(await loadWeights(file), weights);
  });
});

describe('ONNX model zoo files', () => {
  it('round-trips the 3x3 Conv initializers in node order, from raw_data and float_data', async () => {
    const weights = tiny();
    const file = await writeOnnxZoo(path.join(tmp, 'tiny.onnx'), weights);
    const loaded = await loadOnnxZooWeights(file);
    expectSameWeights(loaded, weights);
    expect(loaded.source).toBe(`onnx-zoo:${file}`);
  });

  it('loads through loadWeights by extension', async () => {
    const weights = fullTwoLayers();
    expectSameWeights(await loadWeights(await writeOnnxZoo(path.join(tmp, 'full-two.onnx'), weights)), weights);
  });
});

// --- what is rejected -----------------------------------------------------------------------------------------

describe('rejections', () => {
  it('rejects a path that does not exist with FILE_NOT_FOUND', async () => {
    const missing = path.join(tmp, 'nope', 'vgg19.h5');
    await rejectsWith(loadWeights(missing), 'FILE_NOT_FOUND', /nope.*does not exist/);
    await rejectsWith(loadKerasH5Weights(missing), 'FILE_NOT_FOUND', /does not exist/);
    await rejectsWith(loadOnnxZooWeights(missing), 'FILE_NOT_FOUND', /does not exist/);
  });

  it('rejects a folder without model.json with FILE_NOT_FOUND', async () => {
    const dir = path.join(tmp, 'empty-folder');
    mkdirSync(dir, { recursive: true });
    await rejectsWith(loadWeights(dir), 'FILE_NOT_FOUND', /empty-folder has no model\.json/);
  });

  it('rejects a missing shard with FILE_NOT_FOUND naming it', async () => {
    const dir = await writeTfjsFolder(path.join(tmp, 'tfjs-missing-shard'), tfjsGroups(fullTwoLayers()));
    await rm(path.join(dir, 'group2-shard1of1.bin'));
    await rejectsWith(loadWeights(dir), 'FILE_NOT_FOUND', /group2-shard1of1\.bin/);
  });

  it('rejects a PNG renamed .h5 as not HDF5', async () => {
    const file = path.join(tmp, 'picture.h5');
    await writeFile(file, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(600)]));
    await rejectsWith(loadWeights(file), 'BAD_WEIGHTS', /picture\.h5 is not an HDF5 file/);
  });

  it('rejects an HDF5 file with no VGG19 layer groups', async () => {
    const file = path.join(tmp, 'other.h5');
    await h5wasm.ready;
    const h5 = new h5wasm.File(file, 'w');
    h5.create_dataset({ name: 'data', data: new Float32Array([1, 2, 3]) });
    h5.close();
    await rejectsWith(loadWeights(file), 'BAD_WEIGHTS', /no VGG19 layer groups/);
  });

  it('rejects JSON that is not a TF.js model, and a .json that is not JSON', async () => {
    const random = path.join(tmp, 'settings.json');
    await writeFile(random, JSON.stringify({ theme: 'dark', layers: [1, 2] }));
    await rejectsWith(loadWeights(random), 'BAD_WEIGHTS', /settings\.json has no weightsManifest/);
    const text = path.join(tmp, 'notes.json');
    await writeFile(text, 'these are notes, not weights');
    await rejectsWith(loadWeights(text), 'BAD_WEIGHTS', /notes\.json is not JSON/);
  });

  it('rejects a TF.js manifest without VGG19 conv weights', async () => {
    const dir = await writeTfjsFolder(path.join(tmp, 'tfjs-dense'), [
      [{ name: 'dense/kernel', shape: [2, 2], bytes: float32Bytes(new Float32Array(4)) }],
    ]);
    await rejectsWith(loadWeights(dir), 'BAD_WEIGHTS', /no VGG19 conv weights/);
  });

  it('rejects bytes that are not an ONNX model, and files of no known kind', async () => {
    const onnxFile = path.join(tmp, 'garbage.onnx');
    await writeFile(onnxFile, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34]));
    await rejectsWith(loadWeights(onnxFile), 'BAD_WEIGHTS', /garbage\.onnx is not an ONNX model/);
    const unknown = path.join(tmp, 'weights.bin');
    await writeFile(unknown, 'plain text');
    await rejectsWith(loadWeights(unknown), 'BAD_WEIGHTS', /weights\.bin is not a recognised weights file/);
  });

  it('rejects NaN in the weights, naming the layer', async () => {
    const weights = fullTwoLayers();
    (weights.layers.get('block1_conv2')!.kernel as Float32Array)[100] = Number.NaN;
    const dir = await writeTfjsFolder(path.join(tmp, 'tfjs-nan'), tfjsGroups(weights));
    await rejectsWith(loadWeights(dir), 'BAD_WEIGHTS', /Layer block1_conv2 .* non-finite kernel value \(NaN/);
  });

  it('rejects channel counts that differ from VGG19, naming the layer', async () => {
    const dir = await writeTfjsFolder(path.join(tmp, 'tfjs-narrow'), tfjsGroups(randomVgg19Weights({ seed: 1, depth: 2, channelScale: 0.5 })));
    await rejectsWith(loadWeights(dir), 'BAD_WEIGHTS', /Layer block1_conv1 .* kernel \[32, 3, 3, 3\]; VGG19 needs \[64, 3, 3, 3\]/);
  });

  it('rejects a kernel that is not 3x3, and a bias that does not fit the kernel', async () => {
    const fiveByFive = await writeTfjsFolder(path.join(tmp, 'tfjs-5x5'), [
      [
        { name: 'block1_conv1/kernel', shape: [5, 5, 3, 64], bytes: float32Bytes(new Float32Array(5 * 5 * 3 * 64)) },
        { name: 'block1_conv1/bias', shape: [64], bytes: float32Bytes(new Float32Array(64)) },
      ],
    ]);
    await rejectsWith(loadWeights(fiveByFive), 'BAD_WEIGHTS', /block1_conv1 .* kernel shape \[5, 5, 3, 64\]; expected \[3, 3, in, out\]/);
    const badBias = await writeTfjsFolder(path.join(tmp, 'tfjs-bias'), [
      [
        { name: 'block1_conv1/kernel', shape: [3, 3, 3, 64], bytes: float32Bytes(new Float32Array(27 * 64)) },
        { name: 'block1_conv1/bias', shape: [32], bytes: float32Bytes(new Float32Array(32)) },
      ],
    ]);
    await rejectsWith(loadWeights(badBias), 'BAD_WEIGHTS', /block1_conv1 .* bias shape \[32\]; expected \[64\]/);
  });

  it('rejects a shard shorter than its manifest, naming the shard', async () => {
    const dir = await writeTfjsFolder(path.join(tmp, 'tfjs-short'), tfjsGroups(tiny()));
    await truncate(path.join(dir, 'group3-shard1of1.bin'), 10);
    await rejectsWith(loadWeights(dir), 'BAD_WEIGHTS', /Shard group3-shard1of1\.bin of .* is truncated/);
  });
});

// --- random weights and layer coverage -----------------------------------------------------------------------

describe('randomVgg19Weights', () => {
  it('is deterministic per seed', () => {
    expectSameWeights(randomVgg19Weights({ seed: 42, depth: 3 }), randomVgg19Weights({ seed: 42, depth: 3 }));
    const [a, b] = [randomVgg19Weights({ seed: 1, depth: 1 }), randomVgg19Weights({ seed: 2, depth: 1 })];
    expect(a.layers.get('block1_conv1')!.kernel).not.toEqual(b.layers.get('block1_conv1')!.kernel);
  });

  it('draws He-normal kernels: standard deviation sqrt(2 / (9 · in))', () => {
    const layer = randomVgg19Weights({ seed: 5, depth: 2 }).layers.get('block1_conv2')!;
    const mean = layer.kernel.reduce((s, v) => s + v, 0) / layer.kernel.length;
    const variance = layer.kernel.reduce((s, v) => s + (v - mean) ** 2, 0) / layer.kernel.length;
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(Math.sqrt(variance)).toBeCloseTo(Math.sqrt(2 / (9 * 64)), 3);
  });

  it('shrinks channels with channelScale (at least 1, RGB input kept) and passes validation only without the table', () => {
    const weights = randomVgg19Weights({ seed: 9, channelScale: 1 / 128 });
    expect(weights.layers.size).toBe(16);
    expect(weights.layers.get('block1_conv1')).toMatchObject({ inChannels: 3, outChannels: 1 });
    expect(weights.layers.get('block5_conv4')).toMatchObject({ inChannels: 4, outChannels: 4 });
    expect(() => validateWeights(weights, { tableShapes: false })).not.toThrow();
    throwsWith(() => validateWeights(weights), 'BAD_WEIGHTS', /Layer block1_conv1 in random:seed=9/);
    expect(() => validateWeights(randomVgg19Weights({ seed: 9, depth: 4 }))).not.toThrow();
  });

  it('checks a quantized kernel from its scale and offset, reading its values only when those allow a bad one', () => {
    const base = randomVgg19Weights({ seed: 9, depth: 1 });
    const plain = base.layers.get('block1_conv1')!;
    const withKernel = (bytes: Uint8Array, scale: number, min: number): Vgg19Weights => {
      const quantized = { bytes, scale, min };
      const layer = { get kernel() { return Float32Array.from(bytes, (q) => q * scale + min); }, quantized, bias: plain.bias, inChannels: 3, outChannels: 64 };
      return { layers: new Map([['block1_conv1', layer]]), source: 'test' };
    };
    const bytes = new Uint8Array(64 * 3 * 9).fill(128);
    expect(() => validateWeights(withKernel(bytes, 0.01, -1.28))).not.toThrow();
    // A scale that allows values past the bound, but every stored value is within it: read, and accepted.
    expect(() => validateWeights(withKernel(new Uint8Array(64 * 3 * 9), 1e6, 0))).not.toThrow();
    const oneBad = new Uint8Array(64 * 3 * 9);
    oneBad[17] = 255;
    throwsWith(() => validateWeights(withKernel(oneBad, 1e6, 0)), 'BAD_WEIGHTS', /kernel value of 2\.550e\+8 at index 17/);
    throwsWith(() => validateWeights(withKernel(bytes, Number.NaN, 0)), 'BAD_WEIGHTS', /non-finite kernel value \(NaN at index 0\)/);
    throwsWith(() => validateWeights(withKernel(new Uint8Array(10), 0.01, 0)), 'BAD_WEIGHTS', /has 10 kernel values; \[64, 3, 3, 3\] needs 1728/);
  });

  it('rejects a depth or channelScale out of range', () => {
    throwsWith(() => randomVgg19Weights({ seed: 1, depth: 17 }), 'BAD_ARGUMENT', /depth/);
    throwsWith(() => randomVgg19Weights({ seed: 1, channelScale: 0 }), 'BAD_ARGUMENT', /channelScale/);
  });
});

describe('createRng', () => {
  it('gives uniforms in [0, 1) and standard normals, the same stream for the same seed', () => {
    const rng = createRng(123);
    const uniforms = Array.from({ length: 10_000 }, () => rng.uniform());
    expect(Math.min(...uniforms)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uniforms)).toBeLessThan(1);
    const normals = Array.from({ length: 20_000 }, () => rng.normal());
    const mean = normals.reduce((s, v) => s + v, 0) / normals.length;
    const std = Math.sqrt(normals.reduce((s, v) => s + (v - mean) ** 2, 0) / normals.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(std).toBeCloseTo(1, 1);
    const [a, b] = [createRng(123), createRng(123)];
    expect([a.normal(), a.uniform(), a.normal()]).toEqual([b.normal(), b.uniform(), b.normal()]);
    throwsWith(() => createRng(1.5), 'BAD_ARGUMENT', /seed/);
  });
});

