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

/** One style image's part of a guided style term: its target Gram A^k and its mask's weights (MaskPyramid.gramWeights). */
export interface GuidedStyle {
  readonly target: Value;
  /** w_k = m_k² / Σ m_k² at the layer's size, [1, N]. */
  readonly gramWeights: Value;
}

/**
 * Guided Grams (Gatys et al. 2017), one per style image k: G^k = (F ⊙ m_k)(F ⊙ m_k)ᵀ / Σ m_k² = (F ⊙ w_k) Fᵀ,
 * style = Σ_k mean((G^k − A^k)²). With dL/dM = (4 / (C² S)) (G − A) M and dL/dF = dL/dM · diag(m), the 1/S folded
 * into w gives d style / dF = Σ_k (4 / C²) (G^k − A^k)(F ⊙ w_k) (G, A symmetric); the weight is folded into each
 * C × C difference, as in styleLoss. An all-ones mask gives w = 1/N: styleLoss's term, up to float rounding.
 */
export function guidedStyleLoss(
  g: GraphBuilder,
  features: Value,
  styles: readonly GuidedStyle[],
  weight: Value,
  name: string,
): StyleTerm {
  if (styles.length === 0) throw new Error(`guidedStyleLoss(${name}) needs at least one style.`);
  const [, c, h, w] = features.shape as [number, number, number, number];
  const n = h * w;
  const fMatrix = asMatrix(g, features, `${name}_F`);
  const coefficient = g.node('Mul', [weight, g.scalar(4 / (c * c))], {}, { shape: [] });
  const losses: Value[] = [];
  const grads: Value[] = [];
  styles.forEach(({ target, gramWeights }, k) => {
    const weighted = g.node('Mul', [fMatrix, gramWeights], {}, { shape: [c, n], name: `${name}_${k}_Fw` });
    const gramValue = g.node('Gemm', [weighted, fMatrix], { transB: 1 }, { shape: [c, c], name: `${name}_${k}_gram` });
    const diff = g.node('Sub', [gramValue, target], {}, { shape: [c, c], name: `${name}_${k}_diff` });
    const squared = g.node('Mul', [diff, diff], {}, { shape: [c, c] });
    losses.push(g.node('ReduceMean', [squared], { keepdims: 0 }, { shape: [], name: `${name}_${k}_loss` }));
    const scaledDiff = g.node('Mul', [diff, coefficient], {}, { shape: [c, c] });
    grads.push(g.node('MatMul', [scaledDiff, weighted], {}, { shape: [c, n], name: `${name}_${k}_dF_matrix` }));
  });
  const add = (shape: readonly number[]) => (acc: Value, v: Value): Value => g.node('Add', [acc, v], {}, { shape });
  const loss = losses.slice(1).reduce(add([]), losses[0]!);
  const gradMatrix = grads.slice(1).reduce(add([c, n]), grads[0]!);
  const gradFeatures = g.node('Reshape', [gradMatrix, g.int64Initializer(`${name}_nchw`, features.shape)], {}, {
    shape: features.shape,
    name: `${name}_dF`,
  });
  return { loss, gradFeatures };
}
