// Masks as files: a layer to an 8-bit grayscale PNG (colour type 0, zlib through CompressionStream), and the pixels
// of any decoded image (RGBA from a canvas) back to a layer.

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array, crc = 0xffffffff): number {
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A width × height layer (row-major bytes) as a grayscale PNG. */
export async function encodeGrayPng(layer: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  if (layer.length !== width * height) throw new RangeError(`a ${width}×${height} PNG needs ${width * height} bytes, got ${layer.length}`);
  // Each row is filtered with "Up" (its difference from the row above): painted masks are flat, so it packs well.
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) {
    const row = y * (width + 1);
    raw[row] = y === 0 ? 0 : 2;
    for (let x = 0; x < width; x++) {
      const v = layer[y * width + x]!;
      raw[row + 1 + x] = y === 0 ? v : (v - layer[(y - 1) * width + x]!) & 0xff;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, grayscale, deflate, adaptive filtering, no interlace
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk('IHDR', header), chunk('IDAT', await deflate(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Decoded RGBA pixels as a layer: the gray level (Rec. 709 luma of a colour image), times alpha (transparent is 0). */
export function layerFromRgba(rgba: ArrayLike<number>, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let p = 0; p < count; p++) {
    const luma = 0.2126 * rgba[p * 4]! + 0.7152 * rgba[p * 4 + 1]! + 0.0722 * rgba[p * 4 + 2]!;
    out[p] = Math.round((luma * rgba[p * 4 + 3]!) / 255);
  }
  return out;
}
