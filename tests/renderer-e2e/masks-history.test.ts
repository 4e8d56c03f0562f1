// A run's masks come back into the mask editor (issue 16): a history entry's when it is re-opened, in this session and
// after a reload (stored packed in the window's storage), and an interrupted run's when it is resumed (its
// checkpoint's, as the host answers them, with the photo they were painted over when the window lacks it); and a
// mid-run edit the run refuses leaves the run's masks as they were, said with the run's notices. Fake host, chromium.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { DEFAULT_STUDIO_SETTINGS } from '../../src/shared/studio-settings.js';
import { hasChromium } from './helpers/browser.js';
import { startFakeStudio, type FakeStudio } from './helpers/fake-studio.js';

const STYLE = sharedPath('data', 'images', 'style_starry_night_64.png');
const PHOTO_W = 240;
const PHOTO_H = 160;

const reason = !hasChromium() ? '/usr/bin/chromium is absent (apt-get install chromium)' : !hasShared('data', 'images', 'style_starry_night_64.png') ? '../shared/data/images is absent' : null;
if (reason) console.warn(`[renderer-e2e] masks-history skipped: ${reason}`);

describe.skipIf(reason !== null)('masks of a history entry (fake host, chromium)', () => {
  let studio: FakeStudio;
  let dir: string;
  let photo: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'nst-masks-history-'));
    photo = path.join(dir, 'photo.png');
    await sharp({ create: { width: PHOTO_W, height: PHOTO_H, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png().toFile(photo);
    studio = await startFakeStudio();
  }, 180_000);

  afterAll(async () => {
    await studio?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The photo and the style, the Masks panel open and its overlay shown. */
  async function inputs(page: Page): Promise<void> {
    await page.getByTestId('content-input').setInputFiles(photo);
    await page.getByTestId('style-input').setInputFiles([STYLE]);
    await expect.poll(() => page.getByTestId('mask-layer-style-1').count()).toBe(1);
    await page.locator('details', { has: page.getByTestId('mask-panel') }).evaluate((d: HTMLDetailsElement) => {
      d.open = true;
    });
  }

  /** The overlay's alpha at a photo pixel (the strongest layer there), after the frames that draw the latest edit. */
  async function painted(page: Page, x: number, y: number): Promise<number> {
    if ((await page.getByTestId('mask-edit').getAttribute('aria-pressed')) !== 'true') await page.getByTestId('mask-edit').click();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    return page.getByTestId('mask-overlay').evaluate((c: HTMLCanvasElement, [px, py]) => c.getContext('2d')!.getImageData(px!, py!, 1, 1).data[3]!, [x, y]);
  }

  /** A mouse stroke across the photo from (x0, y0) to (x1, y1), in photo pixels. */
  async function stroke(page: Page, x0: number, y0: number, x1: number, y1: number): Promise<void> {
    if ((await page.getByTestId('mask-edit').getAttribute('aria-pressed')) !== 'true') await page.getByTestId('mask-edit').click();
    const box = (await page.getByTestId('mask-overlay').boundingBox())!;
    const toPage = (x: number, y: number): [number, number] => [box.x + (x / PHOTO_W) * box.width, box.y + (y / PHOTO_H) * box.height];
    await page.mouse.move(...toPage(x0, y0));
    await page.mouse.down();
    await page.mouse.move(...toPage(x1, y1), { steps: 12 });
    await page.mouse.up();
  }

  it('restores the run\'s masks when its entry is re-opened, before and after a reload', { timeout: 120_000 }, async () => {
    const { page, problems } = await studio.open();
    await inputs(page);
    await page.getByTestId('param-iterations').fill('4');
    await page.getByTestId('param-iterations').press('Tab');
    // A stroke of Style 1 across the top of the photo.
    await page.getByTestId('mask-layer-style-1').check();
    await page.getByTestId('mask-brush-size').fill('20');
    await stroke(page, 20, 40, 220, 40);
    expect(await page.getByTestId('masks-enabled').isChecked()).toBe(true);
    expect([await painted(page, 120, 40), await painted(page, 120, 120)]).toEqual([255, 0]);
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('history-entry').count(), { timeout: 30_000 }).toBe(1);

    // The editor moves on: the layer cleared, masks off.
    await page.getByTestId('mask-clear').click();
    await page.getByTestId('masks-enabled').uncheck();
    expect(await painted(page, 120, 40)).toBe(0);

    await page.getByTestId('history-entry').click();
    await expect.poll(() => page.getByTestId('masks-enabled').isChecked()).toBe(true);
    expect([await painted(page, 120, 40), await painted(page, 120, 120)]).toEqual([255, 0]);

    // After a reload the entry comes from the window's storage; over the same photo, its masks come back too.
    await page.reload();
    await inputs(page);
    await expect.poll(() => page.getByTestId('history-entry').count()).toBe(1);
    expect(await page.getByTestId('masks-enabled').isChecked()).toBe(false);
    expect(await painted(page, 120, 40)).toBe(0);
    await page.getByTestId('history-entry').click();
    await expect.poll(() => page.getByTestId('masks-enabled').isChecked()).toBe(true);
    expect([await painted(page, 120, 40), await painted(page, 120, 120)]).toEqual([255, 0]);
    expect(problems).toEqual([]);
  });

  it('puts a resumed interrupted run\'s masks in the editor, resized to the photo, and turns masks on', { timeout: 60_000 }, async () => {
    const settings = { ...structuredClone(DEFAULT_STUDIO_SETTINGS), sizePx: 64, iterations: 30 };
    const runId = 'run-3-0000f00d';
    // The checkpoint's masks at 24 x 16: Style 1 in rows 2..5, that is rows 20..59 of the 240 x 160 photo.
    const band = Array.from({ length: 24 * 16 }, (_, i) => (Math.floor(i / 24) >= 2 && Math.floor(i / 24) < 6 ? 255 : 0));
    const { page, problems } = await studio.open({
      interrupted: [{ runId, contentName: 'photo.png', styleNames: ['starry.png'], settings, sizePx: 64, iteration: 20, totalIterations: 30, savedAt: '2026-12-07T11:56:38.451Z' }],
      interruptedMasks: { [runId]: { width: 24, height: 16, styles: [band], content: null } },
    });
    await inputs(page);
    expect(await page.getByTestId('masks-enabled').isChecked()).toBe(false);
    await page.locator(`[data-run-id="${runId}"]`).getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => page.getByTestId('masks-enabled').isChecked()).toBe(true);
    expect([await painted(page, 120, 40), await painted(page, 120, 120)]).toEqual([255, 0]);
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    expect(problems).toEqual([]);
  });

  it('a mask edit the run refuses is said in its words with the run\'s notices, and its chart mark is taken back', { timeout: 60_000 }, async () => {
    const sentence = 'Style mask 1 covers only the last rows or columns of the 64x43 image, which block5_conv1 never sees (its 4 pools drop odd rows and columns): paint a larger region.';
    const { page, problems } = await studio.open({ refuseMaskEdits: sentence });
    await inputs(page);
    await page.getByTestId('param-iterations').fill('400');
    await page.getByTestId('param-iterations').press('Tab');
    // A stroke of Style 1 across the top, then another across the bottom while the run goes.
    await page.getByTestId('mask-layer-style-1').check();
    await page.getByTestId('mask-brush-size').fill('20');
    await stroke(page, 20, 40, 220, 40);
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('running');
    await stroke(page, 20, 150, 220, 150);
    await expect.poll(() => page.getByTestId('run-notice').allTextContents(), { timeout: 30_000 }).toEqual([expect.stringContaining(sentence)]);
    expect((await page.getByTestId('run-notice').textContent())!).toMatch(/^The mask edit was not used \(iteration \d+\): Style mask 1 covers .* The run goes on with its masks as they were\.$/);
    const marks = JSON.parse((await page.getByTestId('loss-chart').getAttribute('data-mark-labels')) ?? '[]') as { text: string }[];
    expect(marks.map((m) => m.text).join(' | ')).not.toMatch(/masks changed/);
    expect(await page.getByTestId('status').getAttribute('data-state')).toBe('running');
    await page.getByTestId('stop').click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('stopped');
    expect(problems).toEqual([]);
  });

  it('a resumed run whose photo the window does not show brings the photo back, and its masks over it', { timeout: 60_000 }, async () => {
    const settings = { ...structuredClone(DEFAULT_STUDIO_SETTINGS), sizePx: 64, iterations: 30 };
    const runId = 'run-4-0000beef';
    const band = Array.from({ length: 24 * 16 }, (_, i) => (Math.floor(i / 24) >= 2 && Math.floor(i / 24) < 6 ? 255 : 0));
    const { page, problems } = await studio.open({
      interrupted: [{ runId, contentName: 'photo.png', styleNames: ['starry.png'], settings, sizePx: 64, iteration: 20, totalIterations: 30, savedAt: '2026-12-07T11:56:38.451Z' }],
      interruptedMasks: { [runId]: { width: 24, height: 16, styles: [band], content: null } },
      interruptedPhotos: { [runId]: { name: 'photo.png', bytes: [...readFileSync(photo)] } },
    });
    // Only the painting: the window has no photo yet.
    await page.getByTestId('style-input').setInputFiles([STYLE]);
    await expect.poll(() => page.getByTestId('mask-layer-style-1').count()).toBe(1);
    await page.locator('details', { has: page.getByTestId('mask-panel') }).evaluate((d: HTMLDetailsElement) => {
      d.open = true;
    });
    expect(await page.getByTestId('masks-enabled').isDisabled()).toBe(true);
    await page.locator(`[data-run-id="${runId}"]`).getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => page.getByTestId('masks-enabled').isChecked()).toBe(true);
    expect([await painted(page, 120, 40), await painted(page, 120, 120)]).toEqual([255, 0]);
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    expect(problems).toEqual([]);
  });
});
