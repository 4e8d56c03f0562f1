// Spatial-control masks brought to each layer's size inside the graph, and the guided Gram's weights m² / Σ m².

import type { GraphBuilder, Value } from '../builder.js';

/**
 * One mask (a graph input, [1, 1, H, W], values in [0, 1]) at every block's size: 2x2 average pools, stride 2,
 * floored, once per VGG pool before the block, whatever the network's own pooling is (the loss's contract). The
 * mask is a constant of the loss: nothing flows back into it, so there is no backward rule here. Each level and
 * each block's weights are built once, however many layers of the block read them.
 */
export class MaskPyramid {
  private readonly levels: Value[];
  private readonly weights = new Map<number, Value>();

  constructor(
    private readonly g: GraphBuilder,
    mask: Value,
    private readonly name: string,
  ) {
    this.levels = [mask];
  }

  /** The mask at block `block`'s size (block 1 is the input's size), [1, 1, h, w]. */
  at(block: number): Value {
    while (this.levels.length < block) {
      const [n, c, h, w] = this.levels.at(-1)!.shape as [number, number, number, number];
      const shape = [n, c, Math.floor(h / 2), Math.floor(w / 2)];
      const pooled = this.g.node('AveragePool', [this.levels.at(-1)!], { kernel_shape: [2, 2], strides: [2, 2] }, {
        shape,
        name: `${this.name}_block${this.levels.length + 1}`,
      });
      this.levels.push(pooled);
    }
    return this.levels[block - 1]!;
  }

  /**
   * w = m² / Σ_p m(p)² at block `block`'s size, as a [1, h·w] row that broadcasts over a C × N feature matrix: with
   * it the guided Gram (F ⊙ m)(F ⊙ m)ᵀ / Σ m² is (F ⊙ w) Fᵀ, and its gradient needs F ⊙ w again (ops/gram.ts).
   * A mask with no pixel at this size would divide by 0: the objective refuses such masks (model/masks.ts).
   */
  gramWeights(block: number): Value {
    const cached = this.weights.get(block);
    if (cached) return cached;
    const m = this.at(block);
    const [, , h, w] = m.shape as [number, number, number, number];
    const squared = this.g.node('Mul', [m, m], {}, { shape: m.shape });
    // Opset 13 ReduceSum with no axes input reduces every axis.
    const total = this.g.node('ReduceSum', [squared], { keepdims: 0 }, { shape: [], name: `${this.name}_block${block}_sum_sq` });
    const row = this.g.node('Reshape', [squared, this.g.int64Initializer(`${this.name}_block${block}_row`, [1, h * w])], {}, { shape: [1, h * w] });
    const weights = this.g.node('Div', [row, total], {}, { shape: [1, h * w], name: `${this.name}_block${block}_gram_weights` });
    this.weights.set(block, weights);
    return weights;
  }
}
