// Weights files that are wrong in one way each (non-finite values, another network, hostile TF.js manifests), written
// independently of the loaders. Shared by the engine and CLI hostile-input tables.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import onnxProto from 'onnx-proto';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';

const { onnx } = onnxProto;

function float32Bytes(values: Float32Array): Buffer {
  return Buffer.from(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** OIHW [out, in, 3, 3] → Keras HWIO [3, 3, in, out]. */
function oihwToHwio(kernel: Float32Array, ci: number, co: number): Float32Array {
  const hwio = new Float32Array(kernel.length);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++) for (let s = 0; s < 9; s++) hwio[(s * ci + i) * co + o] = kernel[(o * ci + i) * 9 + s]!;
  return hwio;
}

/** A TF.js layers-model folder `dir/name`, one group per layer; `paths` overrides a group's shard list (1-based). */
export async function tfjsFolder(dir: string, name: string, weights: Vgg19Weights, paths: Record<number, string[]> = {}): Promise<string> {
  const folder = path.join(dir, name);
  await mkdir(folder, { recursive: true });
  const manifest = [];
  let g = 0;
  for (const [layer, conv] of weights.layers) {
    g++;
    const shard = `group${g}-shard1of1.bin`;
    await writeFile(path.join(folder, shard), Buffer.concat([float32Bytes(oihwToHwio(conv.kernel, conv.inChannels, conv.outChannels)), float32Bytes(conv.bias)]));
    manifest.push({
      paths: paths[g] ?? [shard],
      weights: [
        { name: `${layer}/kernel`, shape: [3, 3, conv.inChannels, conv.outChannels], dtype: 'float32' },
        { name: `${layer}/bias`, shape: [conv.outChannels], dtype: 'float32' },
      ],
    });
  }
  await writeFile(path.join(folder, 'model.json'), JSON.stringify({ format: 'layers-model', weightsManifest: manifest }));
  return folder;
}

/** An ONNX-zoo-like model `dir/name`: one Conv per layer with its kernel and bias as float initializers. */
export async function onnxFile(dir: string, name: string, weights: Vgg19Weights): Promise<string> {
  const node = [];
  const initializer = [];
  let input = 'data';
  let k = 0;
  for (const conv of weights.layers.values()) {
    const [w, b] = [`conv${k}_weight`, `conv${k}_bias`];
    initializer.push(onnx.TensorProto.create({ name: w, dims: [conv.outChannels, conv.inChannels, 3, 3], dataType: 1, rawData: float32Bytes(conv.kernel) }));
    initializer.push(onnx.TensorProto.create({ name: b, dims: [conv.outChannels], dataType: 1, rawData: float32Bytes(conv.bias) }));
    node.push(onnx.NodeProto.create({ opType: 'Conv', input: [input, w, b], output: [`c${k}`] }));
    node.push(onnx.NodeProto.create({ opType: 'Relu', input: [`c${k}`], output: [`r${k}`] }));
    input = `r${k}`;
    k++;
  }
  const model = onnx.ModelProto.create({ irVersion: 3, opsetImport: [{ domain: '', version: 7 }], graph: { name: 'vgg19', node, initializer } });
  const target = path.join(dir, name);
  await writeFile(target, onnx.ModelProto.encode(model).finish());
  return target;
}

/** Real VGG19 shapes, `depth` layers deep, with one kernel (index 17) or bias (index 3) value replaced. */
export function poisoned(layer: string, role: 'kernel' | 'bias', value: number, depth = 2): Vgg19Weights {
  const weights = randomVgg19Weights({ seed: 5, depth });
  (weights.layers.get(layer)![role] as Float32Array)[role === 'kernel' ? 17 : 3] = value;
  return weights;
}

/** A Keras .h5 `dir/name` that is not VGG: ResNet-style groups (conv1, res2a_branch2a) holding conv kernels. */
export async function resnetH5(dir: string, name: string): Promise<string> {
  await h5wasm.ready;
  const target = path.join(dir, name);
  const h5 = new h5wasm.File(target, 'w');
  try {
    for (const group of ['conv1', 'res2a_branch2a', 'res2a_branch2b']) {
      const holder = h5.create_group(group).create_group(group);
      holder.create_dataset({ name: 'kernel:0', data: new Float32Array(3 * 3 * 3 * 8), shape: [3, 3, 3, 8], dtype: '<f' });
      holder.create_dataset({ name: 'bias:0', data: new Float32Array(8), shape: [8], dtype: '<f' });
    }
  } finally {
    h5.close();
  }
  return target;
}

/** VGG16's first nine convolutions under VGG19 names: blocks 3–5 have three, so block3_conv4 is missing. */
export function vgg16Like(): Vgg19Weights {
  const full = randomVgg19Weights({ seed: 2, depth: 9 });
  const layers = new Map([...full.layers].filter(([name]) => name !== 'block3_conv4'));
  return { layers, source: 'vgg16' };
}

/**
 * A Keras .h5 `dir/name` of a few KB whose block1_conv1 kernel declares [3, 3, 3, 200,000,000]: a chunked dataset
 * resized without writing, which reads as 21.6 GB of fill values.
 */
export async function h5Bomb(dir: string, name: string): Promise<string> {
  await h5wasm.ready;
  const target = path.join(dir, name);
  const h5 = new h5wasm.File(target, 'w');
  try {
    const holder = h5.create_group('block1_conv1').create_group('block1_conv1');
    const kernel = holder.create_dataset({ name: 'kernel:0', data: new Float32Array(27), shape: [3, 3, 3, 1], dtype: '<f', maxshape: [3, 3, 3, null], chunks: [3, 3, 3, 1] });
    kernel.resize([3, 3, 3, 200_000_000]);
    holder.create_dataset({ name: 'bias:0', data: new Float32Array(64), shape: [64], dtype: '<f' });
  } finally {
    h5.close();
  }
  return target;
}

/** A Keras .h5 `dir/name` whose block1_conv1 group holds a hard or soft link to itself. */
export async function h5LinkCycle(dir: string, name: string, kind: 'hard' | 'soft'): Promise<string> {
  await h5wasm.ready;
  const target = path.join(dir, name);
  const h5 = new h5wasm.File(target, 'w');
  try {
    const group = h5.create_group('block1_conv1');
    if (kind === 'hard') group.create_hard_link('/block1_conv1', 'again');
    else group.create_soft_link('/block1_conv1', 'again');
  } finally {
    h5.close();
  }
  return target;
}

/**
 * A Keras .h5 `dir/name` whose layer group is an external link into `target` (a FIFO, say): at the root
 * (/block1_conv1 itself) or nested (/block1_conv1/block1_conv1). Following it makes HDF5 open `target`.
 */
export async function h5ExternalLink(dir: string, name: string, target: string, where: 'root' | 'nested'): Promise<string> {
  await h5wasm.ready;
  const file = path.join(dir, name);
  const h5 = new h5wasm.File(file, 'w');
  try {
    if (where === 'root') h5.create_external_link(target, '/block1_conv1', 'block1_conv1');
    else h5.create_group('block1_conv1').create_external_link(target, '/block1_conv1', 'block1_conv1');
  } finally {
    h5.close();
  }
  return file;
}
