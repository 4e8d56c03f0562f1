// The studio in a browser, end to end: the real renderer in headless Debian chromium against `npm run serve` (the
// browser host with the real services and engine). Drop images, pick a preset, toggle a layer, start, watch the
// preview change, steer a layer weight mid-run and see the loss react, stop, export a PNG that decodes.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { hasChromium } from './helpers/browser.js';
import { serveCommand } from './helpers/studio-server.js';
import { useHostPage } from './helpers/host-page.js';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'renderer-e2e');
const CONTENT = sharedPath('data', 'images', 'content_tubingen_128.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_128.png');
const WEIGHTS = sharedPath('data', 'vgg19-imagenet-uint8');

function skipReason(): string | null {
  if (!hasChromium()) return '/usr/bin/chromium is absent (apt-get install chromium)';
  if (!hasShared('data', 'images', 'content_tubingen_128.png') || !hasShared('data', 'images', 'style_starry_night_128.png')) {
    return '../shared/data/images is absent';
  }
  if (!hasShared('data', 'vgg19-imagenet-uint8')) return '../shared/data/vgg19-imagenet-uint8 is absent';
  if (!serveCommand(REPO_ROOT)) return 'this checkout has no `npm run serve` (the browser host)';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`[renderer-e2e] skipped: ${reason}`);

/** Mean absolute difference per channel (0–255) between two same-sized PNG screenshots. */
async function meanDifference(a: Buffer, b: Buffer): Promise<number> {
  const [ra, rb] = await Promise.all([a, b].map((png) => sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  expect(ra!.info.width).toBe(rb!.info.width);
  expect(ra!.info.height).toBe(rb!.info.height);
  let sum = 0;
  for (let i = 0; i < ra!.data.length; i++) sum += Math.abs(ra!.data[i]! - rb!.data[i]!);
  return sum / ra!.data.length;
}

const numberAttr = async (page: Page, testId: string, name: string): Promise<number> =>
  Number(await page.getByTestId(testId).getAttribute(name));

describe.skipIf(reason !== null)('studio in the browser host (npm run serve + chromium)', () => {
  beforeAll(() => mkdirSync(ARTIFACTS, { recursive: true }));
  const host = useHostPage({
    weights: WEIGHTS,
    // A style or script the CSP blocks is a silent failure in the window: collect them all.
    preparePage: (page) =>
      page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (event) => {
          console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
        });
      }),
  });

  it('paints, steers, stops and exports', { timeout: 420_000 }, async () => {
    const shot = (name: string): Promise<Buffer> => host.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

    await host.page.goto(host.server.url);
    await expect.poll(() => host.page.getByTestId('start').isVisible()).toBe(true);
    await shot('01-empty');

    // Drop the inputs through the file-open buttons: the page reads them with the File API and sends bytes.
    await host.page.getByTestId('content-input').setInputFiles(CONTENT);
    await host.page.getByTestId('style-input').setInputFiles(STYLE);
    await expect.poll(() => host.page.getByText('content_tubingen_128.png').isVisible()).toBe(true);
    await expect.poll(() => host.page.getByText('128 × 128 px').count()).toBe(2);

    // A preset, then a layer of our own on top of it (the picker then reads "custom").
    const preset = host.page.getByTestId('preset-select');
    await preset.selectOption('pair-block1_conv1+block4_conv1');
    await expect.poll(() => host.page.getByTestId('layer-block1_conv1-style').isChecked()).toBe(true);
    await expect.poll(() => host.page.getByTestId('layer-block2_conv1-style').isChecked()).toBe(false);
    await host.page.getByTestId('layer-block4_conv2-content').check();
    await expect.poll(() => preset.inputValue()).toBe('custom');

    // Small and long enough to watch: it is stopped well before the end.
    await host.page.getByTestId('param-size').fill('128');
    await host.page.getByTestId('param-iterations').fill('400');
    await host.page.getByTestId('param-iterations').press('Tab');
    await shot('02-ready');

    await host.page.getByTestId('start').click();
    const status = host.page.getByTestId('status');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 120_000 }).toBe('running');
    await expect.poll(() => numberAttr(host.page, 'preview', 'data-frames'), { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
    const preview = host.page.getByTestId('preview');
    const framesBefore = await numberAttr(host.page, 'preview', 'data-frames');
    const first = await preview.screenshot({ path: path.join(ARTIFACTS, '03-preview-early.png') });

    await host.page.waitForTimeout(4000);
    await expect.poll(() => numberAttr(host.page, 'preview', 'data-frames'), { timeout: 60_000 }).toBeGreaterThan(framesBefore + 1);
    const second = await preview.screenshot({ path: path.join(ARTIFACTS, '04-preview-later.png') });
    const difference = await meanDifference(first, second);
    expect(difference, 'the preview pixels should change while the run paints').toBeGreaterThan(0.5);
    await shot('05-running');

    // Steer: a much heavier block1_conv1 weight must show in the chart's total within a few iterations.
    const chart = host.page.getByTestId('loss-chart');
    await expect.poll(() => numberAttr(host.page, 'loss-chart', 'data-points'), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const totalBefore = Number(await chart.getAttribute('data-last-total'));
    const iterationBefore = await numberAttr(host.page, 'loss-chart', 'data-last-iteration');
    expect(totalBefore).toBeGreaterThan(0);
    await host.page.getByTestId('layer-block1_conv1-weight').fill('1000');
    // Left alone, the total only falls; weighting a live style layer by 1000 lifts it far above where it was. The
    // job applies the weight at its next iteration; the events already on their way arrive first.
    await expect
      .poll(async () => Number(await chart.getAttribute('data-last-total')), { timeout: 120_000, message: `total was ${totalBefore}` })
      .toBeGreaterThan(totalBefore * 1.5);
    const reactedAt = await numberAttr(host.page, 'loss-chart', 'data-last-iteration');
    expect(reactedAt - iterationBefore, 'iterations between the change and the chart showing it').toBeLessThanOrEqual(8);
    await shot('06-steered');

    await host.page.getByTestId('stop').click();
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 60_000 }).toMatch(/^(stopped|done)$/);
    await expect.poll(() => host.page.getByTestId('history-entry').count()).toBe(1);
    await shot('07-stopped');

    // Export: the browser host answers with bytes, which the page hands to the browser as a download.
    await host.page.getByTestId('export-png').check();
    const [download] = await Promise.all([host.page.waitForEvent('download', { timeout: 60_000 }), host.page.getByTestId('export').click()]);
    const file = path.join(ARTIFACTS, 'export.png');
    await download.saveAs(file);
    const meta = await sharp(readFileSync(file)).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([128, 128]);
    await shot('08-exported');

    expect(await host.page.getByTestId('error').count(), await host.page.getByTestId('error').allTextContents().then((t) => t.join(' | '))).toBe(0);
    expect(host.problems).toEqual([]);
  });

  it('"Try an example" in the empty preview loads the built-in photo and painting into the inputs', { timeout: 120_000 }, async () => {
    const examplePage = await host.chromium.context.newPage();
    examplePage.on('pageerror', (error) => host.problems.push(`host.page error: ${error.message}`));
    await examplePage.goto(host.server.url);
    await examplePage.getByTestId('try-example').click();
    // In the inputs' slots (the mask editor's legend names the painting too).
    await expect.poll(() => examplePage.getByRole('region', { name: 'Content' }).getByText('golden-gate.jpg').isVisible()).toBe(true);
    await expect.poll(() => examplePage.getByRole('region', { name: 'Style' }).getByText('great-wave.jpg').isVisible()).toBe(true);
    // The photo is in the preview now, where the welcome was.
    await expect.poll(() => examplePage.getByTestId('try-example').count()).toBe(0);
    await examplePage.screenshot({ path: path.join(ARTIFACTS, '10-example-loaded.png') });
    expect(await examplePage.getByTestId('error').count()).toBe(0);
    expect(host.problems).toEqual([]);
    await examplePage.close();
  });

  it('runs a batch queue: a bad photo refused as it is added, per-item and overall progress, thumbnails, results saved', { timeout: 300_000 }, async () => {
    const batchPage = await host.chromium.context.newPage();
    batchPage.on('pageerror', (error) => host.problems.push(`host.page error: ${error.message}`));
    const corrupt = path.join(ARTIFACTS, 'batch-corrupt.png');
    writeFileSync(corrupt, 'this is not a PNG');
    await batchPage.goto(host.server.url);
    await batchPage.getByTestId('style-input').setInputFiles(STYLE);
    await batchPage.getByTestId('param-size').fill('64');
    await batchPage.getByTestId('param-iterations').fill('3');
    await batchPage.getByTestId('param-iterations').press('Tab');
    await batchPage.getByText('Batch', { exact: true }).click();
    await batchPage.getByTestId('batch-input').setInputFiles([CONTENT, corrupt, STYLE]);
    const panel = batchPage.getByTestId('batch-panel');
    // The corrupt photo never reaches the queue: it is refused as it is added, by name.
    await expect.poll(() => panel.getByTestId('refused-file').allTextContents()).toEqual([expect.stringContaining('“batch-corrupt.png” is not an image')]);
    await batchPage.getByTestId('batch-start').click();

    await expect.poll(() => panel.getAttribute('data-state'), { timeout: 240_000 }).toBe('finished');
    await expect.poll(() => batchPage.getByTestId('batch-thumb').count()).toBe(2);
    await batchPage.screenshot({ path: path.join(ARTIFACTS, '09-batch-finished.png') });
    expect(await batchPage.getByTestId('batch-summary').textContent()).toContain('2 of 2 done');
    const items = batchPage.getByTestId('batch-items').locator('li');
    expect(await items.evaluateAll((lis) => lis.map((li) => li.getAttribute('data-state')))).toEqual(['done', 'done']);
    expect(await batchPage.getByRole('progressbar', { name: 'Whole batch' }).getAttribute('aria-valuenow')).toBe('100');

    const [download] = await Promise.all([batchPage.waitForEvent('download', { timeout: 60_000 }), batchPage.getByTestId('batch-save').first().click()]);
    const file = path.join(ARTIFACTS, 'batch-item-1.png');
    await download.saveAs(file);
    const meta = await sharp(readFileSync(file)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 64]);
    expect(download.suggestedFilename()).toBe('content_tubingen_128-styled.png');
    expect(host.problems).toEqual([]);
    await batchPage.close();
  });
});
