// The studio's first hour as a new user meets it (issue 14): the renderer built and served with the fake API, in
// chromium. Each case is one rough edge that user found, asserted the way they would see it.

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { hasChromium } from './helpers/browser.js';
import { dropFiles, startFakeStudio, type FakeStudio } from './helpers/fake-studio.js';

const CONTENT = sharedPath('data', 'images', 'content_tubingen_128.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_128.png');
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'renderer-e2e');

const reason = !hasChromium()
  ? '/usr/bin/chromium is absent (apt-get install chromium)'
  : !hasShared('data', 'images', 'content_tubingen_128.png')
    ? '../shared/data/images is absent'
    : null;
if (reason) console.warn(`[renderer-e2e] first-hour tests skipped: ${reason}`);

const png = (file: string) => ({ name: path.basename(file), mimeType: 'image/png', buffer: readFileSync(file) });

/** CRC-32 of a PNG chunk's type and data (the PNG specification's table-free form). */
function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A PNG whose header claims width × height and holds no pixels: a decompression bomb's calling card. */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IEND', Buffer.alloc(0))]);
}

describe.skipIf(reason !== null)("the studio's first hour (fake host)", () => {
  let studio: FakeStudio;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    studio = await startFakeStudio();
  }, 180_000);

  afterAll(async () => {
    await studio?.close();
  });

  afterEach(async () => {
    await page?.close();
  });

  const open = async (...args: Parameters<FakeStudio['open']>): Promise<void> => {
    ({ page, problems } = await studio.open(...args));
  };
  const refused = (slot: 'Content' | 'Style') => page.getByRole('region', { name: slot }).getByTestId('refused-file');

  it('reports every file a drop refused, by name and reason: a text file, an SVG, an empty file, a second content photo', async () => {
    await open();
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await dropFiles(page, page.getByRole('group', { name: 'Style images' }), [
      png(STYLE),
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') },
      { name: 'drawing.svg', mimeType: 'image/svg+xml', buffer: svg },
      { name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) },
    ]);
    await expect.poll(() => refused('Style').count()).toBe(3);
    const reasons = await refused('Style').allTextContents();
    expect(reasons[0]).toContain('“notes.txt” is not an image this studio can read');
    expect(reasons[1]).toContain('“drawing.svg” is an SVG drawing');
    expect(reasons[2]).toContain('“empty.png” is empty (0 bytes)');
    // The good one among them was taken.
    await expect.poll(() => page.getByRole('region', { name: 'Style' }).getByText('style_starry_night_128.png').isVisible()).toBe(true);

    // Two photos on the content slot: the first is the content, the second is named as not used.
    await dropFiles(page, page.getByRole('group', { name: 'Content image' }), [png(CONTENT), { ...png(STYLE), name: 'second.png' }]);
    await expect.poll(() => page.getByText('content_tubingen_128.png', { exact: true }).isVisible()).toBe(true);
    await expect.poll(() => refused('Content').allTextContents()).toEqual([expect.stringContaining('“second.png” was not used: the content takes one photo')]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'first-hour-refused-files.png') });

    // Dismissing clears the list and leaves focus in the slot, not on the page.
    await page.getByRole('region', { name: 'Content' }).getByRole('button', { name: 'Dismiss the refused files' }).click();
    await expect.poll(() => refused('Content').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.closest('section')?.getAttribute('aria-labelledby'))).toBe('content-heading');
    expect(problems).toEqual([]);
  });

  it('refuses a photo too large to run on drop, with its size, and scales it down on request; a 100000 × 100000 header reads as too large', { timeout: 60_000 }, async () => {
    await open();
    const huge = await sharp({ create: { width: 12000, height: 9000, channels: 3, background: '#4a7090' } }).jpeg({ quality: 80 }).toBuffer();
    await page.getByTestId('content-input').setInputFiles({ name: 'huge.jpg', mimeType: 'image/jpeg', buffer: huge });
    await expect.poll(() => refused('Content').allTextContents()).toEqual([expect.stringContaining('“huge.jpg” is too large: 12000 × 9000 px')]);
    // Not taken, so Start still asks for a photo.
    expect(await page.getByTestId('start').isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'first-hour-too-large.png') });

    await page.getByRole('button', { name: 'Scale down to 4096 px' }).click();
    await expect.poll(() => page.getByText('huge-4096px.jpg').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.getByText('4096 × 3072 px').count()).toBe(1);
    expect(await refused('Content').count()).toBe(0);
    // The button went with the refusal: focus stays in the content slot.
    expect(await page.evaluate(() => document.activeElement?.closest('section')?.getAttribute('aria-labelledby'))).toBe('content-heading');

    await dropFiles(page, page.getByRole('group', { name: 'Style images' }), [{ name: 'bomb.png', mimeType: 'image/png', buffer: pngClaiming(100_000, 100_000) }]);
    await expect.poll(() => refused('Style').allTextContents()).toEqual([expect.stringContaining('“bomb.png” is too large: 100000 × 100000 px')]);
    expect(problems).toEqual([]);
  });
  it('Batch: photos come in through a labelled drop target or a styled button, a non-image is refused as it is added, each finished photo shows a thumbnail', { timeout: 60_000 }, async () => {
    await open();
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByText('Batch', { exact: true }).click();
    const panel = page.getByTestId('batch-panel');
    const zone = page.getByRole('group', { name: 'Content photos for the batch' });
    // A button-styled chooser: the native file input is hidden behind it.
    await expect.poll(() => zone.getByText('Choose files…').isVisible()).toBe(true);
    expect(await page.getByTestId('batch-input').evaluate((input) => input.getBoundingClientRect().width)).toBeLessThanOrEqual(1);

    await dropFiles(page, zone, [
      png(CONTENT),
      { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('this is not a PNG') },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') },
    ]);
    await expect.poll(() => panel.getByTestId('refused-file').allTextContents()).toEqual([
      expect.stringContaining('“broken.png” is not an image this studio can read'),
      expect.stringContaining('“notes.txt” is not an image this studio can read'),
    ]);
    await page.getByTestId('batch-input').setInputFiles({ ...png(STYLE), name: 'second.png' });
    await expect.poll(() => page.getByRole('list', { name: 'Photos for the next batch' }).getByRole('listitem').allTextContents()).toEqual([
      expect.stringContaining('content_tubingen_128.png'),
      expect.stringContaining('second.png'),
    ]);
    await panel.locator('xpath=ancestor::details[1]').screenshot({ path: path.join(ARTIFACTS, 'first-hour-batch-chosen.png') });
    await page.getByTestId('batch-start').click();
    await expect.poll(() => panel.getAttribute('data-state'), { timeout: 30_000 }).toBe('finished');
    expect(await page.getByTestId('batch-summary').textContent()).toContain('2 of 2 done');
    await expect.poll(() => page.getByTestId('batch-thumb').count()).toBe(2);
    await expect
      .poll(() => page.getByTestId('batch-thumb').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).naturalWidth > 0)))
      .toEqual([true, true]);
    expect(await page.getByTestId('batch-thumb').first().getAttribute('alt')).toBe('Painted content_tubingen_128.png');
    await panel.locator('xpath=ancestor::details[1]').screenshot({ path: path.join(ARTIFACTS, 'first-hour-batch-finished.png') });
    expect(problems).toEqual([]);
  });
  it('loss chart: the left axis says what it plots, and "settings changed" labels sit above the curves, merged rather than stacked', { timeout: 60_000 }, async () => {
    await open({ msPerIteration: 60 });
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-iterations').fill('60');
    await page.getByTestId('start').click();
    const chart = page.getByTestId('loss-chart');
    await expect.poll(() => chart.getAttribute('data-points'), { timeout: 30_000 }).not.toBe('0');
    // Three changes in quick succession, then one later on its own.
    for (const weight of ['5', '50', '500']) {
      await page.getByTestId('layer-block1_conv1-weight').fill(weight);
      await page.waitForTimeout(120);
    }
    await expect.poll(async () => Number(await chart.getAttribute('data-last-iteration')), { timeout: 30_000 }).toBeGreaterThan(35);
    await page.getByTestId('layer-block2_conv1-weight').fill('20');
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    await chart.screenshot({ path: path.join(ARTIFACTS, 'first-hour-loss-chart.png') });

    // The layer lines are weighted terms on the total's scale (the total is far above 1): the axis says so.
    expect(Number(await chart.getAttribute('data-last-total'))).toBeGreaterThan(1);
    expect(await chart.getByRole('img').getAttribute('aria-label')).toContain('loss (weighted) on the left');
    const labels = JSON.parse((await chart.getAttribute('data-mark-labels')) ?? '[]') as { text: string; left: number; width: number; top: number; bottom: number }[];
    const plotTop = Number(await chart.getAttribute('data-plot-top'));
    expect(labels.map((l) => l.text)).toEqual([expect.stringMatching(/^settings changed ×[23]$/), 'settings changed']);
    for (const label of labels) expect(label.bottom, `${label.text} must sit above the plot`).toBeLessThanOrEqual(plotTop);
    for (let i = 1; i < labels.length; i++) expect(labels[i]!.left).toBeGreaterThan(labels[i - 1]!.left + labels[i - 1]!.width);
    expect(problems).toEqual([]);
  });
  it('Export video: each checkbox sits with its words and the whole row toggles it; ffmpeg is one plain line, its developer details behind "Details"', async () => {
    const modules = '/home/artist/studio/node_modules';
    await open({
      ffmpeg: {
        found: true,
        path: `${modules}/@ffmpeg-installer/linux-x64/ffmpeg`,
        source: '@ffmpeg-installer/ffmpeg',
        version: '6.0',
        notes: [`ffmpeg-static (npm): ${modules}/ffmpeg-static/ffmpeg exited with code 126`],
      },
    });
    const panel = page.locator('details', { has: page.getByRole('heading', { name: 'Export video' }) });
    for (const testId of ['video-side-by-side', 'video-caption', 'record-timelapse']) {
      const box = page.getByTestId(testId);
      // The gap between the box and the first letter of its words, and whether they share a line.
      const layout = await box.evaluate((input) => {
        const label = input.closest('label')!;
        const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT, { acceptNode: (n) => (n.textContent!.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT) });
        const range = document.createRange();
        range.selectNodeContents(walker.nextNode()!);
        const text = range.getClientRects()[0]!;
        const boxRect = input.getBoundingClientRect();
        return { gap: text.left - boxRect.right, centreOffset: Math.abs(text.top + text.height / 2 - (boxRect.top + boxRect.height / 2)), labelWidth: label.getBoundingClientRect().width };
      });
      expect(layout.gap, `${testId}: box to words`).toBeGreaterThanOrEqual(0);
      expect(layout.gap, `${testId}: box to words`).toBeLessThanOrEqual(12);
      expect(layout.centreOffset, `${testId}: box and words on one line`).toBeLessThanOrEqual(4);
      // A click at the far end of the row toggles the box.
      const before = await box.isChecked();
      await box.locator('xpath=ancestor::label[1]').click({ position: { x: layout.labelWidth - 4, y: 8 } });
      expect(await box.isChecked(), `${testId}: the row toggles it`).toBe(!before);
    }

    const status = page.getByTestId('ffmpeg-status');
    await expect.poll(() => page.getByTestId('ffmpeg-line').innerText()).toBe('ffmpeg found');
    // What shows (the details closed) has no paths and no package talk.
    expect(await status.innerText()).not.toMatch(/node_modules|ffmpeg-static|passed over/i);
    await panel.screenshot({ path: path.join(ARTIFACTS, 'first-hour-video-panel.png') });
    await status.getByText('Details', { exact: true }).click();
    expect(await status.innerText()).toContain(`${modules}/@ffmpeg-installer/linux-x64/ffmpeg`);
    expect(await status.innerText()).toContain('Not used: ffmpeg-static (npm)');
    await panel.screenshot({ path: path.join(ARTIFACTS, 'first-hour-video-details.png') });
    expect(problems).toEqual([]);
  });

  it('Export video without ffmpeg: one plain line says what to do; the full story is behind "Details"', async () => {
    const help = 'No usable ffmpeg found (tried ffmpeg-static (npm): not installed; `ffmpeg` on PATH: not found). Video export needs ffmpeg. Install it so `ffmpeg` is on PATH.';
    await open({ ffmpeg: { found: false, help } });
    const status = page.getByTestId('ffmpeg-status');
    await expect.poll(() => page.getByTestId('ffmpeg-line').innerText()).toBe('No ffmpeg: video export needs it. Install ffmpeg, or give its path under Details.');
    expect(await status.innerText()).not.toContain('ffmpeg-static');
    await status.getByText('Details', { exact: true }).click();
    expect(await status.innerText()).toContain(help);
    expect(problems).toEqual([]);
  });
  it('top bar at 900 px: the Start hint and the device stay on one line; a CPU fallback reads for users, its technical reason in a disclosure', async () => {
    const reason = "cuda libraries not installed (onnxruntime-node's install step fetches them)";
    await open({ fallbackReason: reason });
    await page.setViewportSize({ width: 900, height: 700 });
    const bar = page.getByRole('banner');
    /** How many lines an element's text takes (its height over its line height), and whether it is cut off. */
    const lines = (testIdOrId: string) =>
      page.locator(testIdOrId).evaluate((el) => {
        const style = getComputedStyle(el);
        const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.4;
        return { lines: Math.round(el.getBoundingClientRect().height / lineHeight), clipped: el.scrollWidth > el.clientWidth + 1 };
      });
    await expect.poll(() => page.locator('#start-blocker').textContent()).toBe('Add a content photo');
    expect(await lines('#start-blocker')).toEqual({ lines: 1, clipped: false });
    expect(await lines('[data-testid="device"] .on')).toEqual({ lines: 1, clipped: false });
    await bar.screenshot({ path: path.join(ARTIFACTS, 'first-hour-top-bar-900-empty.png') });

    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-iterations').fill('8');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    const device = page.getByTestId('device');
    expect((await device.innerText()).trim()).toBe('CPU — no GPU runtime found');
    expect(await lines('[data-testid="device"] .on')).toEqual({ lines: 1, clipped: false });
    // Nothing in the bar runs past the window.
    expect(await bar.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await bar.screenshot({ path: path.join(ARTIFACTS, 'first-hour-top-bar-900-run.png') });

    // The developer's reason is one click (or Enter) away, and Escape puts it back.
    await device.getByText('no GPU runtime found').click();
    await expect.poll(() => page.getByTestId('device-details').isVisible()).toBe(true);
    expect(await page.getByTestId('device-details').innerText()).toContain(reason);
    await page.screenshot({ path: path.join(ARTIFACTS, 'first-hour-device-details.png'), clip: { x: 300, y: 0, width: 600, height: 200 } });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('device-details').isVisible()).toBe(false);
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('SUMMARY');
    expect(problems).toEqual([]);
  });
  it('the iterations hint follows the optimizer, and a queued run says what it waits for', { timeout: 60_000 }, async () => {
    await open({ queueMs: 1500 });
    const hint = page.locator('#p-iterations-hint');
    const expected = { lbfgs: /L-BFGS/, adam: /Adam/, gd: /Gradient step/ } as const;
    for (const [optimizer, mentions] of Object.entries(expected)) {
      await page.getByTestId('param-optimizer').selectOption(optimizer);
      await expect.poll(() => hint.textContent()).toMatch(mentions);
      if (optimizer !== 'lbfgs') expect(await hint.textContent()).not.toContain('L-BFGS');
    }
    // The hint is the field's description for screen readers too.
    expect(await page.getByTestId('param-iterations').getAttribute('aria-describedby')).toBe('p-iterations-hint');

    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-iterations').fill('6');
    await page.getByTestId('start').click();
    const status = page.getByTestId('status');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 10_000 }).toBe('queued');
    expect(await status.innerText()).toMatch(/Queued \(#1\)\s+waiting for the run before it to finish/);
    await page.getByRole('banner').screenshot({ path: path.join(ARTIFACTS, 'first-hour-queued.png') });
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    expect(await page.getByTestId('queued-why').count()).toBe(0);
    expect(problems).toEqual([]);
  });
  it('History names each run as its exports are named (neural-style-<runId>)', { timeout: 60_000 }, async () => {
    await open();
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-iterations').fill('4');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('history-entry').count(), { timeout: 30_000 }).toBe(1);
    const name = await page.getByTestId('history-name').textContent();
    expect(name).toBe('neural-style-run-1');
    const [image] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Export ${name}` }).click()]);
    expect(image.suggestedFilename()).toBe(`${name}.png`);
    const [video] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Export video of ${name}` }).click()]);
    expect(video.suggestedFilename()).toBe(`${name}.mp4`);
    await page.locator('details', { has: page.getByRole('heading', { name: 'History' }) }).screenshot({ path: path.join(ARTIFACTS, 'first-hour-history-names.png') });
    expect(problems).toEqual([]);
  });
  it('History survives a reload, and restoring an entry shows its image in the preview (and exports it)', { timeout: 90_000 }, async () => {
    await open();
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    // Two runs far apart: the fake blends the painting in over 40 iterations.
    for (const [iterations, done] of [['2', 1], ['40', 2]] as const) {
      await page.getByTestId('param-iterations').fill(iterations);
      await page.getByTestId('start').click();
      await expect.poll(() => page.getByTestId('history-entry').count(), { timeout: 30_000 }).toBe(done);
    }
    // In the same session, restoring the first run makes it the window's run: Export exports it.
    await page.getByTestId('history-entry').filter({ hasText: 'neural-style-run-1' }).click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state')).toBe('done');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    expect(download.suggestedFilename()).toBe('neural-style-run-1.png');

    // The history is written once each image is made small: wait for both, then reload.
    await expect.poll(() => page.evaluate(() => JSON.parse(localStorage.getItem('neural-style-studio.history.v1') ?? '[]').length)).toBe(2);
    await page.reload();
    await expect.poll(() => page.getByTestId('history-name').allTextContents()).toEqual(['neural-style-run-2', 'neural-style-run-1']);
    await expect
      .poll(() => page.getByTestId('history-entry').locator('img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).naturalWidth > 0)))
      .toEqual([true, true]);
    // Nothing is in the preview after the reload.
    expect(await page.getByTestId('preview').locator('canvas').count()).toBe(0);

    /** The preview's size and mean colour once the restored entry's image is in it. */
    const previewOf = async (name: string) => {
      const frames = Number(await page.getByTestId('preview').getAttribute('data-frames'));
      await page.getByTestId('history-entry').filter({ hasText: name }).click();
      await expect.poll(async () => Number(await page.getByTestId('preview').getAttribute('data-frames'))).toBeGreaterThan(frames);
      return page.getByTestId('preview').locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        const mean = [0, 1, 2].map((c) => {
          let sum = 0;
          for (let i = c; i < data.length; i += 4) sum += data[i]!;
          return sum / (data.length / 4);
        });
        return { width: canvas.width, height: canvas.height, mean };
      });
    };
    const first = await previewOf('neural-style-run-1');
    await page.screenshot({ path: path.join(ARTIFACTS, 'first-hour-history-restored.png') });
    const second = await previewOf('neural-style-run-2');
    // Shown at the run's size (384 px, the default), each its own picture.
    expect([first.width, first.height, second.width, second.height]).toEqual([384, 384, 384, 384]);
    const apart = first.mean.reduce((sum, v, c) => sum + Math.abs(v - second.mean[c]!), 0);
    expect(apart, 'the two restored images differ').toBeGreaterThan(10);
    // An earlier session's runs are gone from the host: shown again, they say so instead of offering an export that
    // would fail, and the window's Export stays off for them.
    expect(await page.getByTestId('history-earlier').count()).toBe(2);
    expect(await page.getByTestId('history-export-video').count()).toBe(0);
    expect(await page.getByTestId('export').isDisabled()).toBe(true);
    expect(problems).toEqual([]);
  });
  it('a disabled button looks disabled: no fill and a dashed outline, not the enabled look faded', { timeout: 60_000 }, async () => {
    await open();
    /** What a button looks like: its fill, outline, words' colour and pointer. */
    const look = (testId: string) =>
      page.getByTestId(testId).evaluate(async (button) => {
        // A state change starts a 120 ms colour transition: read the look it settles on.
        await Promise.all(button.getAnimations().map((animation) => animation.finished));
        const style = getComputedStyle(button);
        // aria-disabled is the same state for a button that keeps focus while unavailable (issue 18).
        const disabled = (button as HTMLButtonElement).disabled || button.getAttribute('aria-disabled') === 'true';
        return { disabled, background: style.backgroundColor, border: style.borderTopStyle, color: style.color, cursor: style.cursor };
      });
    // At first: Start (primary), Pause (plain), Export image (primary) and Export video (primary) are all disabled.
    const disabled = Object.fromEntries(await Promise.all(['start', 'pause', 'export', 'export-video'].map(async (id) => [id, await look(id)] as const)));
    for (const [id, style] of Object.entries(disabled)) {
      expect(style.disabled, id).toBe(true);
      expect(style, id).toMatchObject({ background: 'rgba(0, 0, 0, 0)', border: 'dashed', cursor: 'not-allowed' });
    }
    await page.getByRole('group', { name: 'Run' }).screenshot({ path: path.join(ARTIFACTS, 'first-hour-disabled-buttons.png') });

    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-iterations').fill('40');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('running');
    const pause = await look('pause');
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    const enabled = { start: await look('start'), pause, export: await look('export'), 'export-video': await look('export-video') };
    await page.getByRole('group', { name: 'Run' }).screenshot({ path: path.join(ARTIFACTS, 'first-hour-enabled-buttons.png') });
    for (const [id, style] of Object.entries(enabled)) {
      expect(style.disabled, id).toBe(false);
      // Enabled, the same button has a fill, a solid outline and other words' colour.
      expect(style.background, id).not.toBe(disabled[id]!.background);
      expect(style.border, id).toBe('solid');
      expect(style.color, id).not.toBe(disabled[id]!.color);
    }
    expect(problems).toEqual([]);
  });
});
