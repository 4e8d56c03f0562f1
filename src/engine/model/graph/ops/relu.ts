// ReLU forward, and its backward rule from the ReLU's own output.

import type { GraphBuilder, Value } from '../builder.js';

export function relu(g: GraphBuilder, x: Value, name: string): Value {
  return g.node('Relu', [x], {}, { shape: x.shape, name });
}

/**
 * dL/dx = dL/dy where the pre-activation is > 0, else 0. y = relu(x) ≥ 0, so Sign(y) is exactly that mask
 * (1 where x > 0, 0 where x ≤ 0: the gradient at exactly 0 is 0, as in PyTorch).
 */
export function reluGrad(g: GraphBuilder, dy: Value, y: Value, name: string): Value {
  const mask = g.node('Sign', [y], {}, { shape: y.shape, name: `${name}_mask` });
  return g.node('Mul', [dy, mask], {}, { shape: dy.shape, name });
}
