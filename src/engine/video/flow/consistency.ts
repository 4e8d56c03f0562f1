// Where a flow can be trusted: Ruder, Dosovitskiy and Brox's (2016) forward-backward check and motion boundaries.

import { NstError } from '../../errors.js';
import type { Mask } from '../../io/mask.js';
import { type FlowField, sampleBilinear } from './field.js';

/**
 * A mask (0 or 1 per pixel) over `flow`'s grid (flow: image A to image B; reverse: B to A): 1 where the point is seen in both images
 * and its motion is trusted, 0 where
 * - it leaves B (p + flow(p) outside the frame);
 * - the flows disagree (disocclusion): w = flow(p), ŵ = reverse(p + w), |w + ŵ|² > 0.01 (|w|² + |ŵ|²) + 0.5;
 * - it is on a motion boundary: |∇u|² + |∇v|² > 0.01 |w|² + 0.002 (central differences).
 * With flow from frame t to t-1 and reverse from t-1 to t, it is the c of the temporal loss on frame t.
 * Errors: BAD_ARGUMENT (the two flows differ in size).
 */
export function consistencyMask(flow: FlowField, reverse: FlowField): Mask {
  const { width, height } = flow;
  if (reverse.width !== width || reverse.height !== height) {
    throw new NstError('BAD_ARGUMENT', `The two flows of a consistency check must have one size, got ${width}x${height} and ${reverse.width}x${reverse.height}.`);
  }
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const u = flow.u[i]!;
      const v = flow.v[i]!;
      const qx = x + u;
      const qy = y + v;
      // A point within half a pixel of the frame is still sampled from its edge pixel; beyond, it has left.
      if (qx < -0.5 || qy < -0.5 || qx > width - 0.5 || qy > height - 0.5) continue;
      const ru = sampleBilinear(reverse.u, width, height, qx, qy);
      const rv = sampleBilinear(reverse.v, width, height, qx, qy);
      const sumU = u + ru;
      const sumV = v + rv;
      const flowSquared = u * u + v * v;
      if (sumU * sumU + sumV * sumV > 0.01 * (flowSquared + ru * ru + rv * rv) + 0.5) continue;
      const left = x > 0 ? i - 1 : i;
      const right = x < width - 1 ? i + 1 : i;
      const up = y > 0 ? i - width : i;
      const down = y < height - 1 ? i + width : i;
      const spanX = right - left;
      const spanY = (down - up) / width;
      const ux = spanX === 0 ? 0 : (flow.u[right]! - flow.u[left]!) / spanX;
      const vx = spanX === 0 ? 0 : (flow.v[right]! - flow.v[left]!) / spanX;
      const uy = spanY === 0 ? 0 : (flow.u[down]! - flow.u[up]!) / spanY;
      const vy = spanY === 0 ? 0 : (flow.v[down]! - flow.v[up]!) / spanY;
      if (ux * ux + uy * uy + vx * vx + vy * vy > 0.01 * flowSquared + 0.002) continue;
      data[i] = 1;
    }
  }
  return { width, height, data };
}
