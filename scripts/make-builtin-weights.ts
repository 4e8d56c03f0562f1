// Packs the uint8-quantized ImageNet VGG19 (a TF.js layers model) into the engine's own weights folder form
// (vgg19.bin + vgg19.json, index version 2): the same bytes re-laid out as OIHW, so loading is one read and one
// dequantizing pass, with no transposition. Run once; its output is resources/weights/, shipped with the app.
// Usage: npx tsx scripts/make-builtin-weights.ts [TFJS_FOLDER] [OUT_FOLDER]

import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { packWeights, writeWeightsFolder, type PackedArray } from '../src/engine/weights/store.js';
import { hwioToOihw, readTfjsLayers, type TfjsArray } from '../src/engine/weights/tfjs.js';
import { VGG19_LAYER_NAMES } from '../src/engine/model/vgg19.js';

const source = path.resolve(process.argv[2] ?? '../shared/data/vgg19-imagenet-uint8');
const out = path.resolve(process.argv[3] ?? 'resources/weights');

const { jsonPath, layers } = await readTfjsLayers(source);
const quantized = (array: TfjsArray | undefined, what: string): TfjsArray & { quantization: { dtype: 'uint8'; scale: number; min: number } } => {
  if (!array || array.quantization?.dtype !== 'uint8') throw new Error(`${what} is not uint8-quantized in ${jsonPath}.`);
  return array as TfjsArray & { quantization: { dtype: 'uint8'; scale: number; min: number } };
};
const packed = VGG19_LAYER_NAMES.map((name) => {
  const slot = layers.get(name);
  const kernel = quantized(slot?.kernel, `${name}/kernel`);
  const bias = quantized(slot?.bias, `${name}/bias`);
  const [, , inChannels = 0, outChannels = 0] = kernel.shape;
  const oihw: PackedArray = { shape: [outChannels, inChannels, 3, 3], bytes: hwioToOihw(kernel.bytes, inChannels, outChannels), quantization: kernel.quantization };
  return { name, kernel: oihw, bias: { shape: bias.shape, bytes: bias.bytes, quantization: bias.quantization } };
});

// Provenance: the source files and their digests, so the shipped bytes can be traced to the published model.
const files = [];
for (const name of (await readdir(source)).sort()) {
  const bytes = await readFile(path.join(source, name));
  files.push({ name, bytes: bytes.length, md5: createHash('md5').update(bytes).digest('hex'), sha256: createHash('sha256').update(bytes).digest('hex') });
}
const provenance = {
  kind: 'builtin' as const,
  source:
    'ImageNet VGG19 (Keras VGG19 include_top=False weights, by the Oxford Visual Geometry Group, CC BY 4.0), ' +
    'uint8-quantized by the TF.js converter (azertat/tfjs_models, models/little_shards), 16 conv layers',
  format: 'tfjs' as const,
  files,
  date: new Date().toISOString(),
};
const result = packWeights(packed, provenance);
await writeWeightsFolder(out, result);
console.log(`wrote ${out}: ${result.index.layers.length} layers, ${result.blob.length} bytes (sha256 ${result.index.blob.sha256})`);
