// 2x2 stride-2 pooling (max or average, flooring odd sizes as Keras 'valid' does): forward and backward.

import type { GraphBuilder, Value } from '../builder.js';

export type PoolKind = 'max' | 'avg';

export function pool2x2(g: GraphBuilder, x: Value, kind: PoolKind, name: string): Value {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const op = kind === 'max' ? 'MaxPool' : 'AveragePool';
  return g.node(op, [x], { kernel_shape: [2, 2], strides: [2, 2] }, {
    shape: [n, c, Math.floor(h / 2), Math.floor(w / 2)],
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
