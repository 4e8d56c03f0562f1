// Content loss mean((F − P)²) (and its masked form), the temporal term and total variation on the image, each with its gradient.

import type { GraphBuilder, Value } from '../builder.js';
import { numel } from '../builder.js';

export interface LossTerm {
  /** The unweighted loss, a scalar. */
  readonly loss: Value;
  /** weight · dLoss/d(input), shaped like the input. */
  readonly grad: Value;
}

/** content = mean((F − P)²) over C·N entries; d content / dF = 2 (F − P) / (C N). */
export function contentLoss(g: GraphBuilder, features: Value, target: Value, weight: Value, name: string): LossTerm {
  const diff = g.node('Sub', [features, target], {}, { shape: features.shape, name: `${name}_diff` });
  const squared = g.node('Mul', [diff, diff], {}, { shape: features.shape });
  const loss = g.node('ReduceMean', [squared], { keepdims: 0 }, { shape: [], name: `${name}_loss` });
  const coefficient = g.node('Mul', [weight, g.scalar(2 / numel(features.shape))], {}, { shape: [] });
  const grad = g.node('Mul', [diff, coefficient], {}, { shape: features.shape, name: `${name}_dF` });
  return { loss, grad };
}

/**
 * Masked content = mean(m ⊙ (F − P)²) over all C·N entries, the [1, 1, H, W] mask m broadcast over channels (not a
 * mean over the masked area: a smaller region weighs less); d content / dF = 2 m ⊙ (F − P) / (C N).
 */
export function maskedContentLoss(g: GraphBuilder, features: Value, target: Value, mask: Value, weight: Value, name: string): LossTerm {
  const diff = g.node('Sub', [features, target], {}, { shape: features.shape, name: `${name}_diff` });
  const maskedDiff = g.node('Mul', [diff, mask], {}, { shape: features.shape, name: `${name}_masked_diff` });
  const squared = g.node('Mul', [maskedDiff, diff], {}, { shape: features.shape });
  const loss = g.node('ReduceMean', [squared], { keepdims: 0 }, { shape: [], name: `${name}_loss` });
  const coefficient = g.node('Mul', [weight, g.scalar(2 / numel(features.shape))], {}, { shape: [] });
  const grad = g.node('Mul', [maskedDiff, coefficient], {}, { shape: features.shape, name: `${name}_dF` });
  return { loss, grad };
}

/**
 * temporal = mean(c ⊙ (x − ω)²) over all 3·H·W pixel values (Ruder et al. 2016), ω the previous result warped to
 * this frame and c its [1, 1, H, W] consistency mask broadcast over RGB: the masked content term, on the image
 * itself; d temporal / dx = 2 c ⊙ (x − ω) / (3 H W). Target and mask are constants (no gradient flows into them).
 */
export function temporalLoss(g: GraphBuilder, image: Value, warped: Value, consistency: Value, weight: Value, name: string): LossTerm {
  return maskedContentLoss(g, image, warped, consistency, weight, name);
}

/**
 * tv = mean over the (H−1)(W−1)·3 positions of (x[i+1,j]−x[i,j])² + (x[i,j+1]−x[i,j])² (last row and column
 * excluded). Each difference d adds 2d/count to its later pixel and −2d/count to its earlier one.
 * Images of one row or column have no such positions: tv is 0 there.
 */
export function totalVariation(g: GraphBuilder, image: Value, weight: Value, name: string): LossTerm {
  const [n, c, h, w] = image.shape as [number, number, number, number];
  if (h < 2 || w < 2) {
    return { loss: g.node('Identity', [g.scalar(0)], {}, { shape: [] }), grad: zerosLike(g, image, name) };
  }
  const inner = [n, c, h - 1, w - 1];
  const window = (rowStart: number, colStart: number, hint: string): Value =>
    g.node(
      'Slice',
      [
        image,
        g.int64Initializer(`${name}_${hint}_starts`, [rowStart, colStart]),
        g.int64Initializer(`${name}_${hint}_ends`, [rowStart + h - 1, colStart + w - 1]),
        g.int64Initializer(`${name}_${hint}_axes`, [2, 3]),
      ],
      {},
      { shape: inner },
    );
  const origin = window(0, 0, 'origin');
  const below = window(1, 0, 'below');
  const right = window(0, 1, 'right');
  const dv = g.node('Sub', [below, origin], {}, { shape: inner });
  const dh = g.node('Sub', [right, origin], {}, { shape: inner });
  const sumSquares = g.node(
    'Add',
    [g.node('Mul', [dv, dv], {}, { shape: inner }), g.node('Mul', [dh, dh], {}, { shape: inner })],
    {},
    { shape: inner },
  );
  const loss = g.node('ReduceMean', [sumSquares], { keepdims: 0 }, { shape: [], name: `${name}_loss` });

  const coefficient = g.node('Mul', [weight, g.scalar(2 / numel(inner))], {}, { shape: [] });
  const gv = g.node('Mul', [dv, coefficient], {}, { shape: inner });
  const gh = g.node('Mul', [dh, coefficient], {}, { shape: inner });
  const both = g.node('Add', [gv, gh], {}, { shape: inner });
  // pads: [n, c, top, left] begins then [n, c, bottom, right] ends.
  const pad = (v: Value, top: number, left: number, hint: string): Value =>
    g.node(
      'Pad',
      [v, g.int64Initializer(`${name}_pad_${hint}`, [0, 0, top, left, 0, 0, 1 - top, 1 - left])],
      { mode: 'constant' },
      { shape: image.shape },
    );
  const later = g.node('Add', [pad(gv, 1, 0, 'below'), pad(gh, 0, 1, 'right')], {}, { shape: image.shape });
  const grad = g.node('Sub', [later, pad(both, 0, 0, 'origin')], {}, { shape: image.shape, name: `${name}_dx` });
  return { loss, grad };
}

function zerosLike(g: GraphBuilder, x: Value, name: string): Value {
  return g.node('Mul', [x, g.scalar(0)], {}, { shape: x.shape, name: `${name}_zero` });
}
