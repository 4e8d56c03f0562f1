// Keep going, in the browser: a run in headless chromium against `npm run serve` (real services, engine and weights)
// stops when its picture is done, says Converged, waits; Keep going continues the same run, its chart, its iteration
// count and its history entry, to the iterations set.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { hasChromium } from './helpers/browser.js';
import { serveCommand } from './helpers/studio-server.js';
import { useHostPage } from './helpers/host-page.js';

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
  const host = useHostPage({ weights: sharedPath('data', 'vgg19-imagenet-uint8') });

  it('converges, waits, and Keep going continues the same run to its iterations', { timeout: 420_000 }, async () => {
    await host.page.goto(host.server.url);
    await expect.poll(() => host.page.getByTestId('start').isVisible()).toBe(true);
    await host.page.getByTestId('content-input').setInputFiles(CONTENT);
    await host.page.getByTestId('style-input').setInputFiles(STYLE);
    await host.page.getByTestId('param-size').fill('64');
    await host.page.getByTestId('param-iterations').fill('80');
    await host.page.getByTestId('param-iterations').press('Tab');
    // Stop when done is the default; a looser tolerance gets there within a few dozen iterations at 64 px.
    expect(await host.page.getByTestId('param-stop').inputValue()).toBe('auto');
    await host.page.getByTestId('param-stop-tolerance').fill('4');
    await host.page.getByTestId('param-stop-tolerance').press('Tab');

    await host.page.getByTestId('start').click();
    const status = host.page.getByTestId('status');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 240_000 }).toBe('converged');
    const convergedAt = await numberAttr(host.page, 'status', 'data-iteration');
    expect(convergedAt).toBeGreaterThan(20);
    expect(convergedAt).toBeLessThan(80);
    expect(await status.innerText()).toContain('Converged');
    expect(await host.page.getByTestId('converged-note').innerText()).toBe(`Converged at iteration ${convergedAt}`);
    expect(await host.page.getByTestId('converged-note').getAttribute('title')).toMatch(new RegExp(`^converged at iteration ${convergedAt}: loss fell .+ over the last 20 iterations$`));
    // The picture is in the history; the run waits (no more iterations), and a new run could start.
    await expect.poll(() => host.page.getByTestId('history-entry').count()).toBe(1);
    expect(await host.page.getByTestId('history-entry').innerText()).toContain(`64×64 · ${convergedAt} it`);
    expect(await numberAttr(host.page, 'loss-chart', 'data-points')).toBe(convergedAt);
    await host.page.waitForTimeout(1500);
    expect(await numberAttr(host.page, 'status', 'data-iteration')).toBe(convergedAt);
    expect(await host.page.getByTestId('start').isEnabled()).toBe(true);

    await host.page.getByTestId('keep-going').click();
    await expect.poll(() => numberAttr(host.page, 'status', 'data-iteration'), { timeout: 120_000 }).toBeGreaterThan(convergedAt);
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 240_000 }).toBe('done');
    expect(await numberAttr(host.page, 'status', 'data-iteration')).toBe(80);
    // The same run: its chart went on from where it was (a new run would have started a new one), to all 80 points.
    expect(await numberAttr(host.page, 'loss-chart', 'data-points')).toBe(80);
    expect(await numberAttr(host.page, 'loss-chart', 'data-last-iteration')).toBe(80);
    // The chart marks where it converged.
    const labels = JSON.parse((await host.page.getByTestId('loss-chart').getAttribute('data-mark-labels')) ?? '[]') as { text: string; iterations: number[] }[];
    expect(labels).toContainEqual(expect.objectContaining({ text: 'converged', iterations: [convergedAt] }));
    // One run, one history entry: the converged picture's gives way to the longer run's.
    await expect.poll(() => host.page.getByTestId('history-entry').innerText()).toContain('64×64 · 80 it');
    expect(await host.page.getByTestId('history-entry').count()).toBe(1);
    expect(host.problems).toEqual([]);
  });
});
