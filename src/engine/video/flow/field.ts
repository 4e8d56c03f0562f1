// The flow field and grey plane types the optical-flow modules share, and the clamped bilinear sample they all use.

/**
 * A dense optical flow: for each pixel p of the image it was computed on (row-major, `y * width + x`), the
 * displacement (u, v) in pixels to where that point is in the other image (x right, y down): p + (u, v).
 */
export interface FlowField {
  readonly width: number;
  readonly height: number;
  readonly u: Float32Array;
  readonly v: Float32Array;
}

/** One channel of an image, row-major: a grey frame, a pyramid level, a mask. */
export interface Plane {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export function zeroFlow(width: number, height: number): FlowField {
  return { width, height, u: new Float32Array(width * height), v: new Float32Array(width * height) };
}

/**
 * The value at (x, y) between pixel centres (integer coordinates are centres), bilinear; coordinates outside the
 * plane are clamped to its edge, so a sample past the border repeats the border pixel.
 */
export function sampleBilinear(data: Float32Array, width: number, height: number, x: number, y: number): number {
  const cx = x < 0 ? 0 : x > width - 1 ? width - 1 : x;
  const cy = y < 0 ? 0 : y > height - 1 ? height - 1 : y;
  const x0 = Math.min(Math.floor(cx), width - 2 < 0 ? 0 : width - 2);
  const y0 = Math.min(Math.floor(cy), height - 2 < 0 ? 0 : height - 2);
  const x1 = Math.min(x0 + 1, width - 1);
  const y1 = Math.min(y0 + 1, height - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const top = data[y0 * width + x0]! * (1 - fx) + data[y0 * width + x1]! * fx;
  const bottom = data[y1 * width + x0]! * (1 - fx) + data[y1 * width + x1]! * fx;
  return top * (1 - fy) + bottom * fy;
}
