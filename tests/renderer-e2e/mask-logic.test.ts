// The mask editor's pure logic (src/renderer/Masks): brush strokes with hardness and opacity, the flood fill,
// invert, frames and resizing, the undo stack's memory cap, k-means in Lab, and layers as grayscale PNGs.

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Stroke, falloff } from '../../src/renderer/Masks/brush.js';
import { floodFill, invert } from '../../src/renderer/Masks/mask-ops.js';
import { MaskDocument, isEmpty, resample } from '../../src/renderer/Masks/mask-document.js';
import { UndoStack } from '../../src/renderer/Masks/undo-stack.js';
import { autoRegions, kmeans, labPoints, rgbToLab, workingSize } from '../../src/renderer/Masks/auto-regions.js';
import { encodeGrayPng, layerFromRgba } from '../../src/renderer/Masks/mask-png.js';
import { STYLE_COLOURS, compositeRect } from '../../src/renderer/Masks/overlay.js';

const W = 64;
const H = 48;
const at = (layer: Uint8Array, x: number, y: number): number => layer[y * W + x]!;

describe('falloff', () => {
  it('is 1 inside the hard core, 0 at and past the radius, falling smoothly between', () => {
    expect(falloff(0, 10, 0.5)).toBe(1);
    expect(falloff(5, 10, 0.5)).toBe(1);
    expect(falloff(10, 10, 0.5)).toBe(0);
    expect(falloff(7.5, 10, 0.5)).toBeCloseTo(0.5, 5);
    expect(falloff(2, 10, 0)).toBeLessThan(1);
    expect(falloff(9.99, 10, 1)).toBe(1);
  });
});

describe('Stroke', () => {
  const paint = (brush: { sizePx: number; hardness: number; opacity: number }, points: [number, number][], erase = false, start?: Uint8Array) => {
    const layer = start ?? new Uint8Array(W * H);
    const stroke = new Stroke(layer, layer.slice(), W, H, brush, erase);
    const rects = points.map(([x, y]) => stroke.to(x, y));
    return { layer, rects };
  };

  it('paints a hard dab fully inside its radius and nothing outside it', () => {
    const { layer, rects } = paint({ sizePx: 10, hardness: 1, opacity: 1 }, [[20, 20]]);
    expect(at(layer, 20, 20)).toBe(255);
    expect(at(layer, 23, 20)).toBe(255);
    expect(at(layer, 26, 20)).toBe(0);
    expect(rects[0]).toEqual({ x: 15, y: 15, width: 10, height: 10 });
    let outside = 0;
    layer.forEach((v, i) => {
      const x = i % W;
      const y = Math.floor(i / W);
      if (Math.hypot(x + 0.5 - 20, y + 0.5 - 20) > 5 && v > 0) outside++;
    });
    expect(outside).toBe(0);
  });

  it('fills the segment between two points with dabs (no gaps) and reports its rectangle', () => {
    const { layer, rects } = paint({ sizePx: 6, hardness: 1, opacity: 1 }, [[5, 10], [55, 10]]);
    for (let x = 5; x <= 55; x++) expect(at(layer, x, 10)).toBe(255);
    expect(rects[1]!.x).toBeLessThanOrEqual(6);
    expect(rects[1]!.x + rects[1]!.width).toBeGreaterThanOrEqual(58);
  });

  it('never passes its opacity where dabs overlap, and a soft brush fades to its edge', () => {
    const { layer } = paint({ sizePx: 20, hardness: 0, opacity: 0.5 }, [[30, 20], [31, 20], [30, 21], [30, 20]]);
    expect(at(layer, 30, 20)).toBeLessThanOrEqual(128);
    expect(at(layer, 30, 20)).toBeGreaterThan(120);
    expect(at(layer, 38, 20)).toBeLessThan(at(layer, 33, 20));
  });

  it('erases what was painted, by the brush opacity', () => {
    const start = new Uint8Array(W * H).fill(200);
    const { layer } = paint({ sizePx: 10, hardness: 1, opacity: 1 }, [[10, 10]], true, start);
    expect(at(layer, 10, 10)).toBe(0);
    expect(at(layer, 30, 30)).toBe(200);
    const half = paint({ sizePx: 10, hardness: 1, opacity: 0.5 }, [[10, 10]], true, new Uint8Array(W * H).fill(200)).layer;
    expect(at(half, 10, 10)).toBe(100);
  });

  it('clips dabs at the image edge', () => {
    const { layer, rects } = paint({ sizePx: 10, hardness: 1, opacity: 1 }, [[0, 0]]);
    expect(at(layer, 0, 0)).toBe(255);
    expect(rects[0]).toEqual({ x: 0, y: 0, width: 5, height: 5 });
    expect(paint({ sizePx: 4, hardness: 1, opacity: 1 }, [[-50, -50]]).rects[0]).toBeNull();
  });
});

describe('floodFill', () => {
  it('fills the region enclosed by a painted outline, and not beyond it', () => {
    const layer = new Uint8Array(W * H);
    for (let x = 10; x <= 30; x++) layer[10 * W + x] = layer[30 * W + x] = 255;
    for (let y = 10; y <= 30; y++) layer[y * W + 10] = layer[y * W + 30] = 255;
    const rect = floodFill(layer, W, H, 20, 20, 255);
    expect(rect).toEqual({ x: 11, y: 11, width: 19, height: 19 });
    expect(at(layer, 20, 20)).toBe(255);
    expect(at(layer, 11, 29)).toBe(255);
    expect(at(layer, 5, 5)).toBe(0);
    expect(at(layer, 40, 20)).toBe(0);
  });

  it('does nothing where the value is already the fill, or outside the image', () => {
    const layer = new Uint8Array(W * H).fill(255);
    expect(floodFill(layer, W, H, 3, 3, 255)).toBeNull();
    expect(floodFill(layer, W, H, -1, 3, 0)).toBeNull();
  });

  it('fills a whole empty layer from any point', () => {
    const layer = new Uint8Array(W * H);
    expect(floodFill(layer, W, H, 0, 0, 128)).toEqual({ x: 0, y: 0, width: W, height: H });
    expect(layer.every((v) => v === 128)).toBe(true);
  });
});

describe('invert and isEmpty', () => {
  it('inverts each value and tells an empty layer', () => {
    const layer = Uint8Array.from([0, 10, 255]);
    invert(layer);
    expect([...layer]).toEqual([255, 245, 0]);
    expect(isEmpty(new Uint8Array(1001))).toBe(true);
    const one = new Uint8Array(1001);
    one[1000] = 1;
    expect(isEmpty(one)).toBe(false);
    one[1000] = 0;
    one[3] = 9;
    expect(isEmpty(one)).toBe(false);
  });
});

describe('MaskDocument', () => {
  it('follows the style list: a new style an empty layer, a removed one its layer gone, the content layer kept', () => {
    const doc = new MaskDocument();
    doc.reset(4, 3);
    expect(doc.setStyles([1, 2])).toBe(true);
    doc.layer(1)!.fill(9);
    expect(doc.setStyles([1, 2])).toBe(false);
    doc.setStyles([1, 3]);
    expect([...doc.layers.keys()].sort()).toEqual([1, 3, 'content']);
    expect(doc.layer(1)![0]).toBe(9);
    expect(isEmpty(doc.layer(3)!)).toBe(true);
  });

  it('puts a frame back over its rectangle, and a whole frame of another size resized', () => {
    const doc = new MaskDocument();
    doc.reset(4, 4);
    doc.setStyles([1]);
    const before = doc.capture([1], { x: 1, y: 1, width: 2, height: 2 });
    doc.layer(1)!.fill(255);
    doc.apply(before);
    expect([...doc.layer(1)!]).toEqual([255, 255, 255, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 255, 255, 255]);
    const whole = doc.capture([1]);
    doc.reset(8, 8);
    doc.apply(whole);
    expect(doc.layer(1)![0]).toBe(255);
    expect(doc.layer(1)![3 * 8 + 3]).toBe(0);
    expect(() => doc.apply(before)).toThrow(RangeError);
  });

  it('resamples bilinearly with centres aligned (a 2-pixel step becomes a ramp)', () => {
    expect([...resample(Uint8Array.from([0, 255]), 2, 1, 4, 1)]).toEqual([0, 64, 191, 255]);
    expect([...resample(Uint8Array.from([7, 7, 7, 7]), 2, 2, 2, 2)]).toEqual([7, 7, 7, 7]);
  });
});

describe('UndoStack', () => {
  it('undoes and redoes in order, and a new step drops what was undone', () => {
    const stack = new UndoStack<string>(100);
    stack.push('a', 1);
    stack.push('b', 1);
    expect(stack.undo()).toBe('b');
    expect(stack.canRedo).toBe(true);
    expect(stack.redo()).toBe('b');
    expect(stack.undo()).toBe('b');
    stack.push('c', 1);
    expect(stack.canRedo).toBe(false);
    expect(stack.undo()).toBe('c');
    expect(stack.undo()).toBe('a');
    expect(stack.undo()).toBeUndefined();
  });

  it('forgets the oldest steps past its byte cap, keeping at least the newest', () => {
    const stack = new UndoStack<number>(10);
    for (let i = 0; i < 5; i++) stack.push(i, 4);
    expect(stack.bytes).toBeLessThanOrEqual(10);
    expect(stack.undo()).toBe(4);
    expect(stack.undo()).toBe(3);
    expect(stack.undo()).toBeUndefined();
    stack.push(9, 50);
    expect(stack.undo()).toBe(9);
    expect(() => new UndoStack(0)).toThrow(RangeError);
  });
});

describe('auto regions (k-means in CIELAB)', () => {
  it('converts sRGB to Lab as the reference values', () => {
    const white = rgbToLab(255, 255, 255);
    expect(white[0]).toBeCloseTo(100, 3);
    expect(Math.abs(white[1]) + Math.abs(white[2])).toBeLessThan(1e-3);
    const red = rgbToLab(255, 0, 0);
    expect(red[0]).toBeCloseTo(53.24, 1);
    expect(red[1]).toBeCloseTo(80.09, 1);
    expect(red[2]).toBeCloseTo(67.2, 1);
  });

  it('splits two colour halves into two regions, the top one first, the same way for the same seed', () => {
    const w = 20;
    const h = 10;
    const rgba = new Uint8Array(w * h * 4);
    for (let p = 0; p < w * h; p++) {
      const top = Math.floor(p / w) < 5;
      // Noisy sky blue over noisy green grass.
      const n = (p * 37) % 11;
      rgba.set(top ? [90 + n, 150 + n, 230] : [40, 120 + n, 30 + n], p * 4);
      rgba[p * 4 + 3] = 255;
    }
    const [first, second] = autoRegions(rgba, w, h, 2, 7);
    for (let p = 0; p < w * h; p++) {
      const top = Math.floor(p / w) < 5;
      expect(first![p]).toBe(top ? 255 : 0);
      expect(second![p]).toBe(top ? 0 : 255);
    }
    expect(autoRegions(rgba, w, h, 2, 7)).toEqual([first, second]);
  });

  it('leaves no cluster empty while there are distinct points, and refuses a bad k', () => {
    const points = labPoints(Uint8Array.from([0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 255, 10, 10, 10, 255]), 4);
    const { labels } = kmeans(points, 3, 1);
    expect(new Set(labels).size).toBe(3);
    expect(() => kmeans(points, 0, 1)).toThrow(RangeError);
  });

  it('works on a copy at most 256 px on its longest side', () => {
    expect(workingSize(2048, 1536)).toEqual({ width: 256, height: 192 });
    expect(workingSize(100, 50)).toEqual({ width: 100, height: 50 });
  });
});

describe('mask PNGs', () => {
  it('encodes a layer as an 8-bit grayscale PNG that decodes to the same bytes', async () => {
    const layer = new Uint8Array(W * H);
    for (let i = 0; i < layer.length; i++) layer[i] = (i * 7) % 256;
    const png = await encodeGrayPng(layer, W, H);
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: W, height: H, channels: 1, space: 'b-w', bitsPerSample: 8 });
    const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(1);
    expect(Buffer.compare(data, Buffer.from(layer))).toBe(0);
    await expect(encodeGrayPng(layer, W, H + 1)).rejects.toThrow(RangeError);
  });

  it('reads decoded pixels as gray times alpha', () => {
    const rgba = Uint8Array.from([200, 200, 200, 255, 255, 255, 255, 0, 255, 0, 0, 255, 100, 100, 100, 128]);
    expect([...layerFromRgba(rgba, 4)]).toEqual([200, 0, 54, 50]);
  });
});

describe('compositeRect (the overlay)', () => {
  it('shows a style in its colour at its value, mixes two by their values, leaves unpainted pixels clear, stripes the content layer', () => {
    const a = Uint8Array.from([255, 0, 100, 0, 0]);
    const b = Uint8Array.from([0, 0, 100, 0, 0]);
    const content = Uint8Array.from([0, 0, 0, 255, 0]);
    const out = new Uint8ClampedArray(5 * 4).fill(9);
    compositeRect(out, 5, [a, b], content, { x: 0, y: 0, width: 4, height: 1 });
    expect([...out.subarray(0, 4)]).toEqual([...STYLE_COLOURS[0]!, 255]);
    expect([...out.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    const mix = STYLE_COLOURS[0]!.map((c, i) => (c + STYLE_COLOURS[1]![i]!) / 2);
    mix.forEach((c, i) => expect(Math.abs(out[8 + i]! - c)).toBeLessThanOrEqual(0.5));
    expect(out[11]).toBe(100);
    expect([...out.subarray(12, 16)]).toEqual([30, 30, 30, 255]);
    // Outside the rectangle nothing is written.
    expect([...out.subarray(16, 20)]).toEqual([9, 9, 9, 9]);
  });
});
