// The studio's first hour as a new user meets it (issue 14): the renderer built and served with the fake API, in
// chromium. Each case is one rough edge that user found, asserted the way they would see it.

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
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
    await expect.poll(() => page.getByText('style_starry_night_128.png').isVisible()).toBe(true);

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
});
