// A layer's kernel values for a pass that only reads them (a check, a hash): a quantized kernel is dequantized into
// one reused buffer instead of a fresh array per read (ConvWeights.kernel), so such a pass over all 16 layers
// leaves no 80 MB of garbage behind.

import { dequantizeUint8 } from './tfjs.js';
import type { ConvWeights } from './types.js';

/** A reader of kernels: each array it returns is valid until its next call. */
export function kernelReader(): (layer: ConvWeights) => Float32Array {
  let scratch: Float32Array | null = null;
  return (layer) => {
    const q = layer.quantized;
    if (!q) return layer.kernel;
    if (!scratch || scratch.length < q.bytes.length) scratch = new Float32Array(q.bytes.length);
    return dequantizeUint8(q.bytes, q.scale, q.min, scratch);
  };
}
