// 2x2 stride-2 pooling (max or average, flooring odd sizes as Keras 'valid' does): forward and backward.

import type { GraphBuilder, Value } from '../builder.js';
import type { PoolKind } from '../../../settings.js';


export interface Pooled {
  readonly output: Value;
  /** Max pool only, when asked for: flat index of each window's (first) maximum in the input. */
  readonly indices: Value | null;
}

/**
 * Forward pool. `withIndices` makes a max pool also return where each maximum came from, for the backward
 * pass; it is left off otherwise because it keeps onnxruntime off its fastest (NCHWc) pooling kernel.
 */
export function pool2x2(g: GraphBuilder, x: Value, kind: PoolKind, name: string, withIndices = false): Pooled {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const shape = [n, c, Math.floor(h / 2), Math.floor(w / 2)];
  const attributes = { kernel_shape: [2, 2], strides: [2, 2] };
  if (kind === 'max' && withIndices) {
    const [output, indices] = g.nodeWithOutputs('MaxPool', [x], attributes, [
      { shape, name },
      { shape, name: `${name}_argmax`, type: 'int64' },
    ]);
    return { output: output!, indices: indices! };
  }
  return { output: g.node(kind === 'max' ? 'MaxPool' : 'AveragePool', [x], attributes, { shape, name }), indices: null };
}

/**
 * Max-pool backward straight to the pre-activations below, with that layer's ReLU folded in: each window's
 * gradient goes to its first maximum (as PyTorch does), and only where that maximum is > 0 — which is exactly
 * where the ReLU below passes gradient. Valid when no loss reads the pooled layer itself (the caller checks).
 * MaxUnpool writes zeros elsewhere, rows/columns dropped by the floor included.
 */
export function maxPoolGradThroughRelu(g: GraphBuilder, dy: Value, pooled: Pooled, inputShape: readonly number[], name: string): Value {
  if (!pooled.indices) throw new Error(`maxPoolGradThroughRelu(${name}) needs the pool's indices.`);
  const positive = g.node('Sign', [pooled.output], {}, { shape: pooled.output.shape });
  const masked = g.node('Mul', [dy, positive], {}, { shape: dy.shape });
  const outputShape = g.int64Initializer(`${name}_shape`, inputShape);
  return g.node('MaxUnpool', [masked, pooled.indices, outputShape], { kernel_shape: [2, 2], strides: [2, 2] }, {
    shape: inputShape,
    name,
  });
}

/**
 * dL/dx of a 2x2/2 pool. Works on a [n, c, h, 2, w, 2] view of the even-cropped input, so no index tensors
 * are needed; rows/columns dropped by the floor get 0 (padded back at the end).
 * - avg: each input cell gets ¼ of its window's gradient.
 * - max: the gradient goes to the cells equal to the window's maximum. PyTorch gives it to the first maximum
 *   only; the two differ on exact ties alone. Ties at 0 (all-zero ReLU windows) are harmless: the ReLU mask
 *   below the pool zeroes those cells anyway.
 */
export function pool2x2Grad(g: GraphBuilder, dy: Value, x: Value, y: Value, kind: PoolKind, name: string): Value {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [, , ph, pw] = dy.shape as [number, number, number, number];
  const windows = [n, c, ph, 2, pw, 2];
  const cells = [n, c, ph, 1, pw, 1];
  const dyCells = g.node('Reshape', [dy, g.int64Initializer(`${name}_cells`, cells)], {}, { shape: cells });

  let spread: Value;
  if (kind === 'avg') {
    const quarter = g.node('Mul', [dyCells, g.scalar(0.25)], {}, { shape: cells });
    spread = g.node('Expand', [quarter, g.int64Initializer(`${name}_windows`, windows)], {}, { shape: windows });
  } else {
    const xEven = cropToEven(g, x, ph * 2, pw * 2, name);
    const xWindows = g.node('Reshape', [xEven, g.int64Initializer(`${name}_windows`, windows)], {}, { shape: windows });
    const yCells = g.node('Reshape', [y, g.int64Initializer(`${name}_ycells`, cells)], {}, { shape: cells });
    const isMax = g.node('Equal', [xWindows, yCells], {}, { shape: windows, type: 'bool' });
    spread = g.node('Where', [isMax, dyCells, g.scalar(0)], {}, { shape: windows });
  }
  const even = [n, c, ph * 2, pw * 2];
  const dxEven = g.node('Reshape', [spread, g.int64Initializer(`${name}_even`, even)], {}, { shape: even });
  if (ph * 2 === h && pw * 2 === w) return dxEven;
  const pads = g.int64Initializer(`${name}_pads`, [0, 0, 0, 0, 0, 0, h - ph * 2, w - pw * 2]);
  return g.node('Pad', [dxEven, pads], { mode: 'constant' }, { shape: x.shape, name });
}

function cropToEven(g: GraphBuilder, x: Value, h: number, w: number, name: string): Value {
  const [n, c, xh, xw] = x.shape as [number, number, number, number];
  if (xh === h && xw === w) return x;
  const starts = g.int64Initializer(`${name}_crop_starts`, [0, 0]);
  const ends = g.int64Initializer(`${name}_crop_ends`, [h, w]);
  const axes = g.int64Initializer(`${name}_crop_axes`, [2, 3]);
  return g.node('Slice', [x, starts, ends, axes], {}, { shape: [n, c, h, w] });
}
