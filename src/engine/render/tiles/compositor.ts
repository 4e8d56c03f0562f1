// Blends optimised tiles into one canvas with weights that sum to 1, and snapshots it for checkpoints.

import type { PlanarImage } from '../../io/image.js';
import { NstError } from '../../errors.js';
import { featherAlpha, type TileRect } from './layout.js';

/**
 * Blends tiles into one image: Σ w_t·tile_t over the tiles so far, plus (1 − Σ w_t) of the base (the upsampled
 * whole-image pass) where they do not yet cover. A tile starts from this image, so it meets its finished
 * neighbours' texture and, beyond their ramps, the base, with no step in between.
 */
export class TileCompositor {
  private readonly sum: Float32Array;
  private readonly coverage: Float32Array;

  constructor(private readonly base: PlanarImage) {
    this.sum = new Float32Array(base.data.length);
    this.coverage = new Float32Array(base.width * base.height);
  }

  /** A copy of everything blended so far, for a checkpoint. */
  getState(): CompositorState {
    return { width: this.base.width, height: this.base.height, base: Float32Array.from(this.base.data), sum: Float32Array.from(this.sum), coverage: Float32Array.from(this.coverage) };
  }

  /** The compositor a getState() came from (the arrays are copied in). */
  static fromState(state: CompositorState): TileCompositor {
    const { width, height } = state;
    const pixels = width * height;
    if (state.base.length !== 3 * pixels || state.sum.length !== 3 * pixels || state.coverage.length !== pixels) {
      throw new NstError('BAD_ARGUMENT', `The tile canvas state does not describe a ${width}x${height} image (base ${state.base.length}, sum ${state.sum.length}, coverage ${state.coverage.length} values).`);
    }
    const compositor = new TileCompositor({ width, height, data: Float32Array.from(state.base) });
    compositor.sum.set(state.sum);
    compositor.coverage.set(state.coverage);
    return compositor;
  }

  add(tile: PlanarImage, rect: TileRect, alpha: Float32Array = featherAlpha(rect)): void {
    const { width, height } = this.base;
    if (tile.width !== rect.width || tile.height !== rect.height) {
      throw new RangeError(`The tile is ${tile.width}x${tile.height}, its rectangle ${rect.width}x${rect.height}.`);
    }
    for (let row = 0; row < rect.height; row++) {
      for (let col = 0; col < rect.width; col++) this.coverage[(rect.y + row) * width + rect.x + col]! += alpha[row * rect.width + col]!;
    }
    for (let c = 0; c < 3; c++) {
      for (let row = 0; row < rect.height; row++) {
        const to = (c * height + rect.y + row) * width + rect.x;
        const from = (c * rect.height + row) * rect.width;
        for (let col = 0; col < rect.width; col++) this.sum[to + col]! += alpha[row * rect.width + col]! * tile.data[from + col]!;
      }
    }
  }

  /** The blended image so far (a new buffer). */
  image(): PlanarImage {
    const { width, height } = this.base;
    const pixels = width * height;
    const data = new Float32Array(this.sum.length);
    for (let i = 0; i < data.length; i++) data[i] = this.sum[i]! + (1 - Math.min(1, this.coverage[i % pixels]!)) * this.base.data[i]!;
    return { width, height, data };
  }
}

export interface CompositorState {
  readonly width: number;
  readonly height: number;
  readonly base: Float32Array;
  readonly sum: Float32Array;
  readonly coverage: Float32Array;
}

