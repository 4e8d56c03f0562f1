// How history entries keep their masks in the window's storage (src/renderer/lib/mask-pack.ts): packed and read
// back byte for byte, small for painted masks, and anything damaged read as no masks rather than wrong ones.

import { describe, expect, it } from 'vitest';
import { packMasks, unpackMasks } from '../../src/renderer/lib/mask-pack.js';
import type { MaskSet } from '../../src/shared/api.js';

const W = 640;
const H = 480;

/** Two painted regions with soft edges and a content mask: what the brush leaves. */
function painted(): MaskSet {
  const top = new Uint8Array(W * H);
  const content = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      top[y * W + x] = Math.max(0, Math.min(255, Math.round((H / 2 - y) * 8)));
      const d = Math.hypot(x - 320, y - 300);
      content[y * W + x] = d < 60 ? 255 : d < 80 ? Math.round(255 * (80 - d) / 20) : 0;
    }
  }
  return { width: W, height: H, styles: [top, top.map((v) => 255 - v)], content };
}

/** Byte-for-byte equality (a deep toEqual over 300k-element arrays takes seconds). */
function same(a: MaskSet | null, b: MaskSet): boolean {
  const bytes = (m: Uint8Array | null): string => (m ? Buffer.from(m).toString('base64') : 'none');
  return a !== null && a.width === b.width && a.height === b.height && a.styles.length === b.styles.length && a.styles.every((m, k) => bytes(m) === bytes(b.styles[k]!)) && bytes(a.content) === bytes(b.content);
}

describe('mask-pack', () => {
  it('reads back exactly what it packed, in a small fraction of the bytes', async () => {
    const set = painted();
    const packed = await packMasks(set);
    expect(same(await unpackMasks(JSON.parse(JSON.stringify(packed))), set)).toBe(true);
    expect(same(await unpackMasks(packed), { ...set, styles: [set.styles[1]!, set.styles[0]!] })).toBe(false);
    expect(JSON.stringify(packed).length).toBeLessThan((3 * W * H) / 50);
    const none = { ...set, content: null };
    expect(same(await unpackMasks(await packMasks(none)), none)).toBe(true);
  });

  it('reads damaged or foreign entries as no masks', async () => {
    const packed = await packMasks(painted());
    expect(await unpackMasks(null)).toBeNull();
    expect(await unpackMasks({ width: W, height: H })).toBeNull();
    expect(await unpackMasks({ ...packed, width: W + 1 })).toBeNull();
    expect(await unpackMasks({ ...packed, styles: [packed.styles[0]!.slice(0, 40)] })).toBeNull();
    expect(await unpackMasks({ ...packed, content: 'not base64 at all!' })).toBeNull();
    expect(await unpackMasks({ ...packed, styles: [7] })).toBeNull();
  });
});
