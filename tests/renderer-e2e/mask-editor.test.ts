// The mask editor (spatial control, issue 16) in chromium with the fake host: a stroke paints the active layer where
// it went and nowhere else, the eraser takes it away, undo and redo (buttons and keys), auto regions split a photo of
// two colour halves into those halves, a layer survives export and import as a grayscale PNG (a non-image is refused
// in words), everything but the stroke works from the keyboard, and axe finds nothing serious with the editor open.
// The layers are read from the overlay canvas (photo-sized): its alpha is the strongest layer, its colour says which.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { hasChromium } from './helpers/browser.js';
import { startFakeStudio, type FakeStudio } from './helpers/fake-studio.js';
import { describeViolations, isSerious, runAxe, transitionsDone } from './helpers/axe.js';

const STYLE_A = sharedPath('data', 'images', 'style_starry_night_64.png');
const STYLE_B = sharedPath('data', 'images', 'style_starry_night_128.png');
const PHOTO_W = 240;
const PHOTO_H = 160;
// Okabe-Ito orange and sky blue: styles 1 and 2 on the overlay (Masks/overlay.ts).
const ORANGE = [230, 159, 0];
const SKY = [86, 180, 233];

const reason = !hasChromium()
  ? '/usr/bin/chromium is absent (apt-get install chromium)'
  : !hasShared('data', 'images', 'style_starry_night_64.png')
    ? '../shared/data/images is absent'
    : null;
if (reason) console.warn(`[renderer-e2e] mask editor tests skipped: ${reason}`);

describe.skipIf(reason !== null)('mask editor (fake host, chromium)', () => {
  let studio: FakeStudio;
  let page: Page;
  let problems: string[];
  let dir: string;
  let photo: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'nst-mask-e2e-'));
    // A photo of two colour halves: a blue sky over green grass, a little noise in each.
    const rgb = Buffer.alloc(PHOTO_W * PHOTO_H * 3);
    for (let p = 0; p < PHOTO_W * PHOTO_H; p++) {
      const n = (p * 31) % 13;
      rgb.set(Math.floor(p / PHOTO_W) < PHOTO_H / 2 ? [80 + n, 140 + n, 225] : [50, 130 + n, 40 + n], p * 3);
    }
    photo = path.join(dir, 'halves.png');
    await sharp(rgb, { raw: { width: PHOTO_W, height: PHOTO_H, channels: 3 } }).png().toFile(photo);
    writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
    studio = await startFakeStudio();
  }, 180_000);

  afterAll(async () => {
    await studio?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    expect(problems).toEqual([]);
    await page?.close();
  });

  /** The studio with the photo and two styles, the Masks panel open and the editor on. */
  async function openEditor(): Promise<void> {
    ({ page, problems } = await studio.open());
    await page.getByTestId('content-input').setInputFiles(photo);
    await page.getByTestId('style-input').setInputFiles([STYLE_A, STYLE_B]);
    await expect.poll(() => page.getByTestId('mask-layer-style-2').count()).toBe(1);
    await page.locator('details', { has: page.getByTestId('mask-panel') }).evaluate((d: HTMLDetailsElement) => {
      d.open = true;
    });
    await page.getByTestId('mask-edit').click();
    await expect.poll(() => page.getByTestId('mask-overlay').getAttribute('data-drawn')).not.toBeNull();
  }

  /** Waits for the overlay to draw the latest edit (a large redraw is spread over frames: data-pending meanwhile). */
  async function settle(): Promise<void> {
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await page.waitForFunction(() => !document.querySelector('[data-testid="mask-overlay"]')?.hasAttribute('data-pending'));
  }

  /** The overlay's RGBA at a photo pixel, after the frame that draws the latest edit. */
  async function pixel(x: number, y: number): Promise<number[]> {
    await settle();
    return page.getByTestId('mask-overlay').evaluate((c: HTMLCanvasElement, [px, py]) => [...c.getContext('2d')!.getImageData(px!, py!, 1, 1).data], [x, y]);
  }
  const alpha = async (x: number, y: number): Promise<number> => (await pixel(x, y))[3]!;
  const near = (rgba: number[], rgb: number[]): boolean => rgb.every((v, i) => Math.abs(rgba[i]! - v) <= 2) && rgba[3] === 255;

  /** A mouse stroke across the photo from (x0, y0) to (x1, y1), in photo pixels. */
  async function stroke(x0: number, y0: number, x1: number, y1: number): Promise<void> {
    const box = (await page.getByTestId('mask-overlay').boundingBox())!;
    const toPage = (x: number, y: number): [number, number] => [box.x + (x / PHOTO_W) * box.width, box.y + (y / PHOTO_H) * box.height];
    await page.mouse.move(...toPage(x0, y0));
    await page.mouse.down();
    await page.mouse.move(...toPage(x1, y1), { steps: 12 });
    await page.mouse.up();
  }

  const said = () => page.getByTestId('announcer').textContent();

  it('paints a stroke on the active layer where it went, erases, and undoes and redoes by buttons and keys', { timeout: 90_000 }, async () => {
    await openEditor();
    await page.getByTestId('mask-brush-size').fill('20');
    await stroke(40, 80, 200, 80);
    expect(await alpha(120, 80)).toBe(255);
    expect(near(await pixel(120, 80), ORANGE)).toBe(true);
    expect(await alpha(120, 20)).toBe(0);
    expect(await alpha(20, 80)).toBe(0);
    expect(await alpha(120, 140)).toBe(0);
    await expect.poll(said).toMatch(/^Painted on Style 1/);
    expect(await page.getByTestId('masks-enabled').isChecked()).toBe(true);

    await page.getByTestId('mask-tool-eraser').check();
    await stroke(120, 40, 120, 120);
    expect(await alpha(120, 80)).toBe(0);
    expect(await alpha(60, 80)).toBe(255);
    await expect.poll(said).toMatch(/^Erased from Style 1/);

    await page.getByTestId('mask-undo').click();
    expect(await alpha(120, 80)).toBe(255);
    await expect.poll(said).toMatch(/^Undone: erased from Style 1/);
    await page.keyboard.press('Control+Shift+Z');
    expect(await alpha(120, 80)).toBe(0);
    await page.keyboard.press('Control+Z');
    await page.keyboard.press('Control+Z');
    expect(await alpha(60, 80)).toBe(0);
    await page.keyboard.press('Control+Y');
    expect(await alpha(60, 80)).toBe(255);
    expect(await alpha(120, 80)).toBe(255);
    // The second layer is untouched: painting it mixes its colour in only where it goes.
    await page.getByTestId('mask-layer-style-2').check();
    await page.getByTestId('mask-tool-brush').check();
    await stroke(20, 20, 60, 20);
    expect(near(await pixel(40, 20), SKY)).toBe(true);
    expect(near(await pixel(60, 80), ORANGE)).toBe(true);
  });

  it('splits a photo of two colour halves into two regions, one per style, in a worker, as one undo step', { timeout: 90_000 }, async () => {
    await openEditor();
    const workers: string[] = [];
    page.on('worker', (w) => workers.push(w.url()));
    await page.getByTestId('mask-auto').click();
    await expect.poll(said).toMatch(/^Split the photo into 2 regions/);
    for (const [x, y] of [[10, 10], [230, 70], [120, 40]]) expect(near(await pixel(x!, y!), ORANGE), `top at ${x},${y}`).toBe(true);
    for (const [x, y] of [[10, 150], [230, 90], [120, 120]]) expect(near(await pixel(x!, y!), SKY), `bottom at ${x},${y}`).toBe(true);
    expect(workers.some((url) => /auto-regions/.test(url)), `workers started: ${workers.join(', ')}`).toBe(true);
    await page.getByTestId('mask-undo').click();
    expect(await alpha(10, 10)).toBe(0);
    expect(await alpha(10, 150)).toBe(0);
  });

  it('follows the styles and the photo: a removed style takes its layer, a new photo resets the masks as one undo step', { timeout: 90_000 }, async () => {
    await openEditor();
    await page.getByTestId('mask-layer-style-2').check();
    await stroke(20, 20, 100, 20);
    expect(near(await pixel(60, 20), SKY)).toBe(true);
    await page.getByRole('button', { name: 'Remove the style painting style_starry_night_64.png' }).click();
    await expect.poll(() => page.getByTestId('mask-layer-style-2').count()).toBe(0);
    // The painted layer is now style 1's, in style 1's colour.
    expect(near(await pixel(60, 20), ORANGE)).toBe(true);
    expect(await page.getByTestId('mask-layer-style-1').isChecked()).toBe(true);

    const wide = path.join(dir, 'wide.png');
    await sharp({ create: { width: 300, height: 100, channels: 3, background: '#808080' } }).png().toFile(wide);
    await page.getByTestId('content-input').setInputFiles(wide);
    await expect.poll(() => page.getByTestId('mask-overlay').evaluate((c: HTMLCanvasElement) => c.width)).toBe(300);
    await settle();
    expect(await page.getByTestId('mask-overlay').evaluate((c: HTMLCanvasElement) => c.getContext('2d')!.getImageData(0, 0, 300, 100).data.some((v) => v > 0))).toBe(false);
    await page.getByTestId('mask-undo').click();
    await expect.poll(said).toMatch(/^Undone: masks reset for the new photo/i);
    // The stroke at y = 20 of 160 comes back resized to the new photo: y = 12 or so of 100.
    expect((await pixel(30, 12))[3]).toBe(255);
  });

  it('exports a layer as a grayscale PNG and imports it back; a file that is not an image is refused in words', { timeout: 90_000 }, async () => {
    await openEditor();
    await page.getByTestId('mask-auto').click();
    await expect.poll(said).toMatch(/^Split/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('mask-export').click()]);
    expect(download.suggestedFilename()).toBe('mask-style-1-style-starry-night-64.png');
    const file = path.join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const meta = await sharp(file).metadata();
    expect(meta).toMatchObject({ width: PHOTO_W, height: PHOTO_H, channels: 1 });
    const gray = await sharp(file).toColourspace('b-w').raw().toBuffer();
    expect(gray[10 * PHOTO_W + 10]).toBe(255);
    expect(gray[150 * PHOTO_W + 10]).toBe(0);

    await page.getByTestId('mask-clear').click();
    expect(await alpha(10, 10)).toBe(0);
    await page.getByTestId('mask-import-input').setInputFiles(file);
    await expect.poll(said).toMatch(/^Imported mask-style-1/);
    expect(near(await pixel(10, 10), ORANGE)).toBe(true);
    expect(near(await pixel(10, 150), SKY)).toBe(true);
    // Byte for byte: the layer exported again is the file imported.
    const [again] = await Promise.all([page.waitForEvent('download'), page.getByTestId('mask-export').click()]);
    const second = path.join(dir, 'again.png');
    await again.saveAs(second);
    expect(Buffer.compare(await sharp(second).toColourspace('b-w').raw().toBuffer(), gray)).toBe(0);

    await page.getByTestId('mask-import-input').setInputFiles(path.join(dir, 'notes.txt'));
    await expect.poll(() => page.getByTestId('mask-problem').textContent()).toContain('“notes.txt” is not an image');
    expect(near(await pixel(10, 10), ORANGE)).toBe(true);
    // An import resizes to the photo: a 24 × 16 white PNG fills the whole layer.
    const small = path.join(dir, 'small.png');
    await sharp({ create: { width: 24, height: 16, channels: 3, background: '#ffffff' } }).png().toFile(small);
    await page.getByTestId('mask-layer-content').check();
    await page.getByTestId('mask-import-input').setInputFiles(small);
    await expect.poll(said).toMatch(/^Imported small.png into Keep the photo/);
    expect(await alpha(PHOTO_W - 1, PHOTO_H - 1)).toBe(255);
  });

  it('works from the keyboard: layers, tools, brush size, fill, invert, clear, undo, auto regions', { timeout: 90_000 }, async () => {
    await openEditor();
    const focused = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid ?? document.activeElement?.tagName);
    const tabTo = async (testid: string): Promise<void> => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const now = await focused();
        expect(now).not.toBe('BODY');
        if (now === testid) return;
      }
      throw new Error(`${testid} not reached by Tab`);
    };
    await page.getByTestId('mask-edit').focus();
    await tabTo('mask-tool-brush');
    await page.keyboard.press('ArrowRight');
    expect(await page.getByTestId('mask-tool-eraser').isChecked()).toBe(true);
    await tabTo('mask-brush-size');
    const size = Number(await page.getByTestId('mask-brush-size').inputValue());
    await page.keyboard.press('ArrowRight');
    expect(Number(await page.getByTestId('mask-brush-size').inputValue())).toBe(size + 1);
    await tabTo('mask-layer-style-1');
    await page.keyboard.press('ArrowDown');
    expect(await page.getByTestId('mask-layer-style-2').isChecked()).toBe(true);
    await tabTo('mask-fill');
    await page.keyboard.press('Enter');
    expect(near(await pixel(5, 5), SKY)).toBe(true);
    await tabTo('mask-invert');
    await page.keyboard.press('Space');
    expect(await alpha(5, 5)).toBe(0);
    await page.keyboard.press('Control+Z');
    expect(near(await pixel(5, 5), SKY)).toBe(true);
    await tabTo('mask-clear');
    await page.keyboard.press('Enter');
    expect(await alpha(5, 5)).toBe(0);
    await tabTo('mask-undo');
    await page.keyboard.press('Enter');
    expect(near(await pixel(5, 5), SKY)).toBe(true);
    await tabTo('mask-auto');
    await page.keyboard.press('Enter');
    await expect.poll(said).toMatch(/^Split the photo/);
    expect(near(await pixel(5, 150), SKY)).toBe(true);
    expect(await focused()).toBe('mask-auto');
  });

  it('has no serious or critical axe violation with the editor open and painted, in both themes', { timeout: 90_000 }, async () => {
    await openEditor();
    await stroke(40, 80, 200, 80);
    await page.getByTestId('mask-layer-content').check();
    await stroke(40, 120, 200, 120);
    for (const colorScheme of ['dark', 'light'] as const) {
      await page.emulateMedia({ colorScheme });
      await transitionsDone(page);
      const serious = (await runAxe(page)).filter(isSerious);
      expect(describeViolations(serious), `axe, ${colorScheme}`).toBe('');
    }
    // Every control of the editor has a name of its own in the page (issue 18's rule).
    const snapshot = await page.locator('body').ariaSnapshot();
    const names = [...snapshot.matchAll(/- (button|link|textbox|spinbutton|combobox|checkbox|slider|radio) "([^"]*)"/g)].map((m) => `${m[1]} "${m[2]}"`);
    expect(names.filter((n, i) => names.indexOf(n) !== i), 'controls sharing one name').toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['radio "Brush"', 'slider "Brush size"', 'radio "Keep the photo here (content mask)"', 'button "Auto regions"', 'button "Undo"']));
  });
});
