// readImageHeader (the drop check's size reader): each format's header gives the size sharp encoded, without a decode.

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageHeader } from '../../src/renderer/Drop/image-header.js';

const image = (width: number, height: number, alpha = false) =>
  sharp({ create: { width, height, channels: alpha ? 4 : 3, background: { r: 90, g: 120, b: 160, alpha: 0.5 } } });

describe('readImageHeader', () => {
  it.each([
    ['png', () => image(300, 200).png()],
    ['jpeg', () => image(300, 200).withMetadata({ exif: { IFD0: { Copyright: 'x'.repeat(2000) } } }).jpeg()],
    ['gif', () => image(300, 200).gif()],
    ['webp', () => image(300, 200).webp({ lossless: false })],
    ['webp', () => image(300, 200).webp({ lossless: true })],
    ['webp', () => image(300, 200, true).webp({ lossless: false })],
  ] as const)('reads a %s header (300 × 200)', async (format, encode) => {
    const bytes = new Uint8Array(await encode().toBuffer());
    expect(readImageHeader(bytes)).toEqual({ format, width: 300, height: 200 });
  });

  it('reads a BMP header, top-down or bottom-up', () => {
    const bmp = new Uint8Array(54);
    const view = new DataView(bmp.buffer);
    bmp.set([0x42, 0x4d]);
    view.setInt32(18, 640, true);
    view.setInt32(22, -480, true);
    expect(readImageHeader(bmp)).toEqual({ format: 'bmp', width: 640, height: 480 });
  });

  it('answers null for text, and for a header cut short', async () => {
    expect(readImageHeader(new TextEncoder().encode('hello, not an image'))).toBeNull();
    const png = new Uint8Array(await image(10, 10).png().toBuffer());
    expect(readImageHeader(png.subarray(0, 20))).toBeNull();
    const jpeg = new Uint8Array(await image(10, 10).jpeg().toBuffer());
    expect(readImageHeader(jpeg.subarray(0, 30))).toBeNull();
  });
});
