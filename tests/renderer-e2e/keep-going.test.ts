// Keep going, in the browser: a run in headless chromium against `npm run serve` (real services, engine and weights)
// stops when its picture is done, says Converged, waits; Keep going continues the same run, its chart, its iteration
// count and its history entry, to the iterations set.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { collectPageProblems, hasChromium, launchChromium, type LaunchedBrowser } from './helpers/browser.js';
import { serveCommand, startStudioServer, type StudioServer } from './helpers/studio-server.js';

const CONTENT = sharedPath('data', 'images', 'content_tubingen_64.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_64.png');

function skipReason(): string | null {
  if (!hasChromium()) return '/usr/bin/chromium is absent (apt-get install chromium)';
  if (!hasShared('data', 'images', 'content_tubingen_64.png') || !hasShared('data', 'images', 'style_starry_night_64.png')) return '../shared/data/images is absent';
  if (!hasShared('data', 'vgg19-imagenet-uint8')) return '../shared/data/vgg19-imagenet-uint8 is absent';
  if (!serveCommand(REPO_ROOT)) return 'this checkout has no `npm run serve` (the browser host)';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`[renderer-e2e] keep going skipped: ${reason}`);

const numberAttr = async (page: Page, testId: string, name: string): Promise<number> => Number(await page.getByTestId(testId).getAttribute(name));

describe.skipIf(reason !== null)('keep going (npm run serve + chromium, real weights)', () => {
  let server: StudioServer;
  let chromium: LaunchedBrowser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    server = await startStudioServer({ repoRoot: REPO_ROOT, weights: sharedPath('data', 'vgg19-imagenet-uint8') });
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    collectPageProblems(page, problems);
  }, 300_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('converges, waits, and Keep going continues the same run to its iterations', { timeout: 420_000 }, async () => {
    await page.goto(server.url);
    await expect.poll(() => page.getByTestId('start').isVisible()).toBe(true);
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-size').fill('64');
    await page.getByTestId('param-iterations').fill('80');
    await page.getByTestId('param-iterations').press('Tab');
    // Stop when done is the default; a looser tolerance gets there within a few dozen iterations at 64 px.
    expect(await page.getByTestId('param-stop').inputValue()).toBe('auto');
    await page.getByTestId('param-stop-tolerance').fill('4');
    await page.getByTestId('param-stop-tolerance').press('Tab');

    await page.getByTestId('start').click();
    const status = page.getByTestId('status');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 240_000 }).toBe('converged');
    const convergedAt = await numberAttr(page, 'status', 'data-iteration');
    expect(convergedAt).toBeGreaterThan(20);
    expect(convergedAt).toBeLessThan(80);
    expect(await status.innerText()).toContain('Converged');
    expect(await page.getByTestId('converged-note').innerText()).toBe(`Converged at iteration ${convergedAt}`);
    expect(await page.getByTestId('converged-note').getAttribute('title')).toMatch(new RegExp(`^converged at iteration ${convergedAt}: loss fell .+ over the last 20 iterations$`));
    // The picture is in the history; the run waits (no more iterations), and a new run could start.
    await expect.poll(() => page.getByTestId('history-entry').count()).toBe(1);
    expect(await page.getByTestId('history-entry').innerText()).toContain(`64×64 · ${convergedAt} it`);
    expect(await numberAttr(page, 'loss-chart', 'data-points')).toBe(convergedAt);
    await page.waitForTimeout(1500);
    expect(await numberAttr(page, 'status', 'data-iteration')).toBe(convergedAt);
    expect(await page.getByTestId('start').isEnabled()).toBe(true);

    await page.getByTestId('keep-going').click();
    await expect.poll(() => numberAttr(page, 'status', 'data-iteration'), { timeout: 120_000 }).toBeGreaterThan(convergedAt);
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 240_000 }).toBe('done');
    expect(await numberAttr(page, 'status', 'data-iteration')).toBe(80);
    // The same run: its chart went on from where it was (a new run would have started a new one), to all 80 points.
    expect(await numberAttr(page, 'loss-chart', 'data-points')).toBe(80);
    expect(await numberAttr(page, 'loss-chart', 'data-last-iteration')).toBe(80);
    // The chart marks where it converged.
    const labels = JSON.parse((await page.getByTestId('loss-chart').getAttribute('data-mark-labels')) ?? '[]') as { text: string; iterations: number[] }[];
    expect(labels).toContainEqual(expect.objectContaining({ text: 'converged', iterations: [convergedAt] }));
    // One run, one history entry: the converged picture's gives way to the longer run's.
    await expect.poll(() => page.getByTestId('history-entry').innerText()).toContain('64×64 · 80 it');
    expect(await page.getByTestId('history-entry').count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
