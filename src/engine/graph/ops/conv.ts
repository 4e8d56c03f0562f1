// 3x3 stride-1 pad-1 convolution: forward, and its gradient with respect to the input.

import type { GraphBuilder, Value } from '../builder.js';
import type { ConvWeights } from '../../weights/types.js';

/** y = conv(x, W) + b, same spatial size (pad 1). */
export function conv3x3(g: GraphBuilder, x: Value, layer: string, w: ConvWeights): Value {
  const kernel = g.floatInitializer(`${layer}_W`, w.kernel, [w.outChannels, w.inChannels, 3, 3]);
  const bias = g.floatInitializer(`${layer}_b`, w.bias, [w.outChannels]);
  const [n, , h, wd] = x.shape as [number, number, number, number];
  return g.node('Conv', [x, kernel, bias], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, {
    shape: [n, w.outChannels, h, wd],
    name: `${layer}_preact`,
  });
}

/**
 * dL/dx = conv(dL/dy, W′, pad 1) with W′[i, o] = W[o, i] flipped in both spatial axes. The bias has no part
 * in dL/dx. A plain Conv (rather than ConvTranspose) keeps the backward pass on the runtime's fastest kernels.
 */
export function conv3x3InputGrad(g: GraphBuilder, dy: Value, layer: string, w: ConvWeights): Value {
  const flipped = g.floatInitializer(`${layer}_W_flipT`, flipTransposeKernel(w), [w.inChannels, w.outChannels, 3, 3]);
  const [n, , h, wd] = dy.shape as [number, number, number, number];
  return g.node('Conv', [dy, flipped], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, {
    shape: [n, w.inChannels, h, wd],
    name: `${layer}_dinput`,
  });
}

/** OIHW kernel → its input-gradient kernel: in/out channels swapped, both spatial axes reversed. */
export function flipTransposeKernel(w: ConvWeights): Float32Array {
  const { outChannels: cout, inChannels: cin, kernel } = w;
  const out = new Float32Array(kernel.length);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      const src = (o * cin + i) * 9;
      const dst = (i * cout + o) * 9;
      for (let k = 0; k < 9; k++) out[dst + 8 - k] = kernel[src + k]!;
    }
  }
  return out;
}
