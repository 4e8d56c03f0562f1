// Hostile image bytes made on the spot (no fixtures): decompression bombs whose headers claim huge sizes, files cut
// short or damaged, and text dressed up as images. Shared by the engine, CLI and IPC hostile-input tables.

import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/**
 * A grayscale PNG whose IHDR says width × height, with a valid CRC, and an IDAT of `idatZeros` zero bytes
 * deflated (a few hundred bytes on disk whatever the claimed size): 50,000 × 50,000 is 2.5 gigapixels.
 */
export function pngBomb(width: number, height: number, idatZeros = 64 * 1024): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(idatZeros))), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A valid PNG with zTXt, iTXt and iCCP chunks that each inflate to `inflatedBytes` zeros: a decompression bomb in
 * the metadata, not the pixels.
 */
export async function pngWithMetadataBombs(width: number, height: number, inflatedBytes = 64 * 1024 * 1024): Promise<Buffer> {
  const good = await solid(width, height).png().toBuffer();
  const bomb = deflateSync(Buffer.alloc(inflatedBytes), { level: 9 });
  const afterIhdr = PNG_SIGNATURE.length + 25; // IHDR: length, type, 13 bytes of data, CRC
  return Buffer.concat([
    good.subarray(0, afterIhdr),
    pngChunk('iCCP', Buffer.concat([Buffer.from('icc\0\0', 'latin1'), bomb])),
    pngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), bomb])),
    pngChunk('iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\x01\0\0\0', 'latin1'), bomb])),
    good.subarray(afterIhdr),
  ]);
}

/** A small real JPEG with its SOF frame header patched to claim width × height (each at most 65,535). */
export async function jpegBomb(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await solid(16, 16).jpeg().toBuffer());
  for (let i = 2; i + 9 < bytes.length; i++) {
    // SOF0 (baseline) or SOF2 (progressive): FF C0/C2, length (2), precision (1), height (2), width (2).
    if (bytes[i] === 0xff && (bytes[i + 1] === 0xc0 || bytes[i + 1] === 0xc2)) {
      bytes.writeUInt16BE(height, i + 5);
      bytes.writeUInt16BE(width, i + 7);
      return bytes;
    }
  }
  throw new Error('no SOF marker in the JPEG sharp wrote');
}

/** A small lossy WebP whose VP8 frame header claims width × height (14 bits each: at most 16,383). */
export async function webpBomb(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await solid(16, 16).webp({ lossless: false }).toBuffer());
  // RIFF····WEBP, 'VP8 ' chunk header (8), frame tag (3), start code 9d 01 2a, then 14-bit width and height.
  if (bytes.toString('latin1', 12, 16) !== 'VP8 ' || bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) {
    throw new Error('sharp wrote a WebP without a plain VP8 chunk');
  }
  bytes.writeUInt16LE(width & 0x3fff, 26);
  bytes.writeUInt16LE(height & 0x3fff, 28);
  return bytes;
}

/** A GIF whose logical screen and only image claim width × height (at most 65,535 each). */
export async function gifBomb(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await solid(16, 16).gif().toBuffer());
  bytes.writeUInt16LE(width, 6);
  bytes.writeUInt16LE(height, 8);
  // The image descriptor (0x2c) carries its own size too.
  const descriptor = bytes.indexOf(0x2c, 13);
  if (descriptor > 0) {
    bytes.writeUInt16LE(width, descriptor + 5);
    bytes.writeUInt16LE(height, descriptor + 7);
  }
  return bytes;
}

/** An SVG whose root claims width × height: text on disk, gigapixels when rasterised. */
export function svgBomb(width: number, height: number): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="10" height="10" fill="red"/></svg>`);
}

/** A width × height image of one colour (a sharp pipeline, to be encoded by the caller). */
export function solid(width: number, height: number, background = '#c83c28'): Sharp {
  return sharp({ create: { width, height, channels: 3, background } });
}

/** Interleaved RGB bytes: left half red, right half blue (orientation and colour checks). */
export function halves(width: number, height: number): Buffer {
  const bytes = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) bytes[(y * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255;
  return bytes;
}

/** The same bytes with `count` bytes from `at` (negative: from the end) overwritten by `value`. */
export function damaged(bytes: Uint8Array, at: number, count: number, value = 0xff): Buffer {
  const copy = Buffer.from(bytes);
  const start = at < 0 ? copy.length + at : at;
  copy.fill(value, start, Math.min(copy.length, start + count));
  return copy;
}

/** The first `fraction` of the bytes (a download cut off). */
export function truncated(bytes: Uint8Array, fraction: number): Buffer {
  return Buffer.from(bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

/**
 * A baseline JPEG with `count` bytes of its entropy-coded scan data flipped, starting `fraction` of the way into the
 * scan: headers, tables and the end marker intact, so nothing is missing, yet the Huffman stream is garbage from
 * there on (a bad sector, a bit-rotted backup). No 0xFF byte is made (that would be a marker, another kind of damage).
 */
export function corruptScan(jpeg: Uint8Array, fraction = 0.3, count = 64): Buffer {
  const copy = Buffer.from(jpeg);
  let sos = -1;
  for (let i = 2; i + 3 < copy.length; ) {
    if (copy[i] !== 0xff) throw new Error('corruptScan: not a JPEG with well-formed segments');
    if (copy[i + 1] === 0xda) {
      sos = i;
      break;
    }
    i += 2 + copy.readUInt16BE(i + 2);
  }
  if (sos < 0) throw new Error('corruptScan: no start-of-scan marker');
  const scanStart = sos + 2 + copy.readUInt16BE(sos + 2);
  const scanEnd = copy.length - 2; // before the end-of-image marker
  const start = scanStart + Math.floor((scanEnd - scanStart) * fraction);
  for (let i = start; i < Math.min(scanEnd, start + count); i++) {
    if (copy[i] === 0xff || copy[i - 1] === 0xff) continue; // leave stuffed bytes and markers alone
    const flipped = copy[i]! ^ 0x5a;
    copy[i] = flipped === 0xff ? 0x00 : flipped;
  }
  return copy;
}
