// Writes VGG19 weights as a Keras 2 .h5 (what keras.applications saves) with h5wasm: test fixtures and the bench.

import h5wasm from 'h5wasm/node';
import type { ConvWeights, Vgg19Weights } from '../../src/engine/weights/types.js';

/** OIHW [out, in, 3, 3] -> Keras HWIO [3, 3, in, out], index by index. */
export function oihwToHwio(layer: ConvWeights): Float32Array {
  const { inChannels: ci, outChannels: co } = layer;
  const hwio = new Float32Array(layer.kernel.length);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++)
      for (let h = 0; h < 3; h++)
        for (let w = 0; w < 3; w++) hwio[((h * 3 + w) * ci + i) * co + o] = layer.kernel[((o * ci + i) * 3 + h) * 3 + w]!;
  return hwio;
}

/**
 * /block1_conv1/block1_conv1/kernel:0 and bias:0 per layer, float32 little-endian. `extraGroups` adds groups that
 * are not VGG19 (to make a non-VGG file).
 */
export async function writeKerasH5(file: string, weights: Vgg19Weights, extraGroups: readonly string[] = []): Promise<string> {
  await h5wasm.ready;
  const h5 = new h5wasm.File(file, 'w');
  try {
    for (const [name, layer] of weights.layers) {
      const holder = h5.create_group(name).create_group(name);
      holder.create_dataset({ name: 'kernel:0', data: oihwToHwio(layer), shape: [3, 3, layer.inChannels, layer.outChannels], dtype: '<f' });
      holder.create_dataset({ name: 'bias:0', data: layer.bias, shape: [layer.outChannels], dtype: '<f' });
    }
    for (const name of extraGroups) {
      h5.create_group(name).create_dataset({ name: 'kernel:0', data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], dtype: '<f' });
    }
  } finally {
    h5.close();
  }
  return file;
}
