// The masks kept per photo beside the settings (photo-masks-store.ts): saved PNGs read back byte for byte, a new save
// replaces the old files, null forgets them, and a damaged or missing file reads as no masks, never an error.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PhotoMasksStore } from '../../src/main/services/photo-masks-store.js';
import { validateRequest } from '../../src/shared/schemas.js';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const png = (tag: number): Uint8Array => new Uint8Array([...PNG, tag, tag + 1, tag + 2]);
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('PhotoMasksStore', () => {
  let dir: string;
  let store: PhotoMasksStore;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nst-photo-masks-'));
    store = new PhotoMasksStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const files = (): string[] => readdirSync(path.join(dir, 'photo-masks')).sort();

  it('reads back what was saved for a photo, and nothing for another', async () => {
    expect(await store.getPhotoMasks({ photo: A })).toEqual({ ok: true, value: null });
    expect(await store.savePhotoMasks({ photo: A, masks: { enabled: true, styles: [png(1), png(2)], content: png(3) } })).toEqual({ ok: true, value: null });
    expect(await store.getPhotoMasks({ photo: A })).toEqual({ ok: true, value: { enabled: true, styles: [png(1), png(2)], content: png(3) } });
    expect(await store.getPhotoMasks({ photo: B })).toEqual({ ok: true, value: null });
    // A manifest and one PNG per layer, not the layers inline.
    expect(files().filter((f) => f.endsWith('.png')).length).toBe(3);
    expect(readFileSync(path.join(dir, 'photo-masks', `${A}.json`), 'utf8').length).toBeLessThan(400);
  });

  it('a new save replaces the old layers\' files; null forgets the photo\'s masks', async () => {
    await store.savePhotoMasks({ photo: A, masks: { enabled: true, styles: [png(1)], content: png(3) } });
    await store.savePhotoMasks({ photo: B, masks: { enabled: false, styles: [png(7)], content: null } });
    await store.savePhotoMasks({ photo: A, masks: { enabled: false, styles: [png(4)], content: null } });
    expect(await store.getPhotoMasks({ photo: A })).toEqual({ ok: true, value: { enabled: false, styles: [png(4)], content: null } });
    expect(files().filter((f) => f.startsWith(A))).toEqual([expect.stringMatching(new RegExp(`^${A}\\.\\d+\\.style-1\\.png$`)), `${A}.json`]);
    await store.savePhotoMasks({ photo: A, masks: null });
    expect(await store.getPhotoMasks({ photo: A })).toEqual({ ok: true, value: null });
    expect(files().every((f) => f.startsWith(B))).toBe(true);
    expect(await store.getPhotoMasks({ photo: B })).toEqual({ ok: true, value: { enabled: false, styles: [png(7)], content: null } });
  });

  it('a damaged manifest, one naming files it should not, or a missing layer reads as no masks', async () => {
    await store.savePhotoMasks({ photo: A, masks: { enabled: true, styles: [png(1)], content: null } });
    const manifest = path.join(dir, 'photo-masks', `${A}.json`);
    const good = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, good.slice(0, 20));
    expect(await store.getPhotoMasks({ photo: A })).toEqual({ ok: true, value: null });
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(good), styles: ['../../etc/passwd'] }));
    expect(await store.getPhotoMasks({ photo: A })).toEqual({ ok: true, value: null });
    writeFileSync(manifest, good);
    rmSync(path.join(dir, 'photo-masks', (JSON.parse(good) as { styles: string[] }).styles[0]!));
    expect(await store.getPhotoMasks({ photo: A })).toEqual({ ok: true, value: null });
  });

  it('a save that cannot be written is refused in words', async () => {
    writeFileSync(path.join(dir, 'photo-masks'), 'a file where the folder goes');
    const saved = await store.savePhotoMasks({ photo: A, masks: { enabled: true, styles: [png(1)], content: null } });
    expect(saved).toMatchObject({ ok: false, error: { code: 'SETTINGS_NOT_SAVED', message: expect.stringMatching(/^The masks could not be saved: /) } });
    expect(await store.getPhotoMasks({ photo: A })).toEqual({ ok: true, value: null });
  });

  it('the requests are checked: a photo key is a SHA-256, each layer a PNG', () => {
    expect(validateRequest('getPhotoMasks', { photo: A }).ok).toBe(true);
    expect(validateRequest('getPhotoMasks', { photo: '../x' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/photo.*SHA-256/) } });
    expect(validateRequest('savePhotoMasks', { photo: A, masks: { enabled: true, styles: [new Uint8Array([1, 2, 3])], content: null } })).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/is not a PNG/) },
    });
    expect(validateRequest('savePhotoMasks', { photo: A, masks: null }).ok).toBe(true);
  });
});
