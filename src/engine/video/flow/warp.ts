// Backward warping by a flow: an image resampled onto another frame's grid, as the temporal loss and start need it.

import type { PlanarImage } from '../../io/image.js';
import { NstError } from '../../errors.js';
import type { FlowField } from './field.js';

/**
 * The image seen from the flow's grid: out(p) = image(p + flow(p)), bilinear, coordinates clamped to the image (a
 * point whose source left the frame takes the nearest edge pixel; the consistency mask marks it). With `flow` the
 * flow from frame t to frame t-1, warpImage(x_{t-1}, flow) is frame t-1's result carried onto frame t.
 * Errors: BAD_ARGUMENT (the flow and image sizes differ).
 */
export function warpImage(image: PlanarImage, flow: FlowField): PlanarImage {
  const { width, height } = image;
  if (flow.width !== width || flow.height !== height) {
    throw new NstError('BAD_ARGUMENT', `The flow is ${flow.width}x${flow.height} but the image to warp is ${width}x${height}.`);
  }
  const n = width * height;
  const data = new Float32Array(3 * n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const sx = Math.min(Math.max(x + flow.u[i]!, 0), width - 1);
      const sy = Math.min(Math.max(y + flow.v[i]!, 0), height - 1);
      const x0 = Math.min(Math.floor(sx), Math.max(width - 2, 0));
      const y0 = Math.min(Math.floor(sy), Math.max(height - 2, 0));
      const x1 = Math.min(x0 + 1, width - 1);
      const y1 = Math.min(y0 + 1, height - 1);
      const fx = sx - x0;
      const fy = sy - y0;
      // The four taps and weights are shared by the three planes.
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const i00 = y0 * width + x0;
      const i01 = y0 * width + x1;
      const i10 = y1 * width + x0;
      const i11 = y1 * width + x1;
      for (let c = 0; c < 3; c++) {
        const o = c * n;
        data[o + i] = w00 * image.data[o + i00]! + w01 * image.data[o + i01]! + w10 * image.data[o + i10]! + w11 * image.data[o + i11]!;
      }
    }
  }
  return { width, height, data };
}
