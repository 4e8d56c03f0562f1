// Loads VGG19 conv weights from an ONNX model zoo VGG19 (vgg19-7.onnx): its 3x3 Conv initializers, already OIHW.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { NstError } from '../errors.js';
import { VGG19_LAYER_NAMES } from '../model/vgg19.js';
import type { ConvWeights, Vgg19Weights } from './types.js';

// onnx-proto is a CommonJS protobufjs module: under ESM only its default export is visible.
const { onnx } = onnxProto;

type Tensor = Onnx.ITensorProto;
type Int64 = number | { toNumber(): number };

export async function loadOnnxZooWeights(filePath: string): Promise<Vgg19Weights> {
  const absolute = path.resolve(filePath);
  const graph = decodeGraph(await readModelBytes(absolute), absolute);
  const initializers = new Map<string, Tensor>();
  for (const tensor of graph.initializer ?? []) if (tensor.name) initializers.set(tensor.name, tensor);

  // The zoo graph names its layers vgg0_conv0 … ; only position tells which is block1_conv1.
  const convs = (graph.node ?? []).filter((node) => node.opType === 'Conv');
  const layers = new Map<string, ConvWeights>();
  for (const node of convs) {
    const layer = VGG19_LAYER_NAMES[layers.size];
    if (!layer) break;
    const weightName = node.input?.[1] ?? '';
    const weight = initializers.get(weightName);
    if (!weight) {
      throw badWeights(`${describe(node)} in ${absolute} takes its weight "${weightName}" from no initializer; only stored weights can be read.`);
    }
    if (!is3x3Kernel(weight)) continue;
    layers.set(layer, convLayer(layer, node, weight, initializers, absolute));
  }
  if (layers.size === 0) {
    throw badWeights(`${absolute} has no 3x3 Conv nodes with initializer weights, so it is not a VGG19 model.`);
  }
  return { layers, source: `onnx-zoo:${absolute}` };
}

async function readModelBytes(absolute: string): Promise<Uint8Array> {
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new NstError('FILE_NOT_FOUND', `Weights file ${absolute} does not exist.`);
  if (!info.isFile()) throw badWeights(`${absolute} is not a file, so it cannot be an ONNX model.`);
  return readFile(absolute);
}

function decodeGraph(bytes: Uint8Array, file: string): Onnx.IGraphProto {
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw badWeights(`${file} is not an ONNX model (its bytes do not decode as a ModelProto).`, cause);
  }
  if (!model.graph) throw badWeights(`${file} decodes as ONNX but has no graph, so it holds no weights.`);
  return model.graph;
}

function is3x3Kernel(tensor: Tensor): boolean {
  const dims = (tensor.dims ?? []).map(toNumber);
  return dims.length === 4 && dims[2] === 3 && dims[3] === 3;
}

function convLayer(
  layer: string,
  node: Onnx.INodeProto,
  weight: Tensor,
  initializers: ReadonlyMap<string, Tensor>,
  file: string,
): ConvWeights {
  const [outChannels = 0, inChannels = 0] = (weight.dims ?? []).map(toNumber);
  const kernel = tensorFloats(weight, file, layer);
  if (kernel.length !== outChannels * inChannels * 9) {
    throw badWeights(`Layer ${layer} (${describe(node)}) in ${file}: kernel holds ${kernel.length} values, not ${outChannels * inChannels * 9}.`);
  }
  const biasName = node.input?.[2];
  // ONNX makes a Conv's bias optional; a missing one is a zero bias.
  if (!biasName) return { kernel, bias: new Float32Array(outChannels), inChannels, outChannels };
  const biasTensor = initializers.get(biasName);
  if (!biasTensor) throw badWeights(`Layer ${layer} (${describe(node)}) in ${file}: bias "${biasName}" is not an initializer.`);
  const bias = tensorFloats(biasTensor, file, layer);
  if (bias.length !== outChannels) {
    throw badWeights(`Layer ${layer} (${describe(node)}) in ${file}: bias holds ${bias.length} values, not ${outChannels}.`);
  }
  return { kernel, bias, inChannels, outChannels };
}

/** float32 values from raw_data (little-endian by the ONNX spec) or from float_data. */
function tensorFloats(tensor: Tensor, file: string, layer: string): Float32Array {
  const name = tensor.name ?? '(unnamed)';
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw badWeights(`Layer ${layer} in ${file}: tensor "${name}" lives in an external data file, which is not supported.`);
  }
  if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) {
    throw badWeights(`Layer ${layer} in ${file}: tensor "${name}" has ONNX data type ${String(tensor.dataType)}, not FLOAT.`);
  }
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    if (raw.length % 4 !== 0) throw badWeights(`Layer ${layer} in ${file}: tensor "${name}" has ${raw.length} raw bytes, not a multiple of 4.`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const values = new Float32Array(raw.length / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
    return values;
  }
  return Float32Array.from(tensor.floatData ?? []);
}

function describe(node: Onnx.INodeProto): string {
  return node.name ? `Conv node "${node.name}"` : 'an unnamed Conv node';
}

function toNumber(value: Int64): number {
  return typeof value === 'number' ? value : value.toNumber();
}

function badWeights(message: string, cause?: unknown): NstError {
  return new NstError('BAD_WEIGHTS', message, cause === undefined ? undefined : { cause });
}
