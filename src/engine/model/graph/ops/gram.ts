// Gram matrix G = F Fᵀ / N of a feature map, the style loss mean((G − A)²) and its gradient.

import type { GraphBuilder, Value } from '../builder.js';

/** F as a C × N matrix (N = H·W): a free reshape of the [1, C, H, W] map. */
export function asMatrix(g: GraphBuilder, f: Value, name: string): Value {
  const [, c, h, w] = f.shape as [number, number, number, number];
  const shape = [c, h * w];
  return g.node('Reshape', [f, g.int64Initializer(`${name}_cxn`, shape)], {}, { shape, name });
}

/** G = F Fᵀ / N, C × C. */
export function gram(g: GraphBuilder, fMatrix: Value, name: string): Value {
  const [c, n] = fMatrix.shape as [number, number];
  return g.node('Gemm', [fMatrix, fMatrix], { transB: 1, alpha: { float: 1 / n } }, { shape: [c, c], name });
}

export interface StyleTerm {
  /** mean over the C² entries of (G − A)², unweighted. */
  readonly loss: Value;
  /** weight · dLoss/dF, shaped like the [1, C, H, W] feature map. */
  readonly gradFeatures: Value;
}

/**
 * style = mean((G − A)²); with G, A symmetric, d style / dF = (4 / (C² N)) · (G − A) · F. The weight is folded
 * into the small C × C difference before the C × N product, so it costs nothing extra.
 */
export function styleLoss(
  g: GraphBuilder,
  features: Value,
  target: Value,
  weight: Value,
  name: string,
): StyleTerm {
  const [, c, h, w] = features.shape as [number, number, number, number];
  const n = h * w;
  const fMatrix = asMatrix(g, features, `${name}_F`);
  const gramValue = gram(g, fMatrix, `${name}_gram`);
  const diff = g.node('Sub', [gramValue, target], {}, { shape: [c, c], name: `${name}_diff` });
  const squared = g.node('Mul', [diff, diff], {}, { shape: [c, c] });
  const loss = g.node('ReduceMean', [squared], { keepdims: 0 }, { shape: [], name: `${name}_loss` });

  const coefficient = g.node('Mul', [weight, g.scalar(4 / (c * c * n))], {}, { shape: [] });
  const scaledDiff = g.node('Mul', [diff, coefficient], {}, { shape: [c, c] });
  const gradMatrix = g.node('MatMul', [scaledDiff, fMatrix], {}, { shape: [c, n], name: `${name}_dF_matrix` });
  const gradFeatures = g.node('Reshape', [gradMatrix, g.int64Initializer(`${name}_nchw`, features.shape)], {}, {
    shape: features.shape,
    name: `${name}_dF`,
  });
  return { loss, gradFeatures };
}
