// The size control's memory line in the browser host (npm run serve + headless Debian chromium, real services over
// the WebSocket): the estimate appears under the size, a size over a small memory limit brings the proposal, and
// each of its actions makes the run fit. The video options persist across a reload; the ffmpeg is the host's to choose.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
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
  if (!hasShared('data', 'images', 'content_tubingen_128.png') || !hasShared('data', 'images', 'style_starry_night_128.png')) return '../shared/data/images is absent';
  if (!hasShared('data', 'vgg19-imagenet-uint8')) return '../shared/data/vgg19-imagenet-uint8 is absent';
  if (!serveCommand(REPO_ROOT)) return 'this checkout has no `npm run serve` (the browser host)';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`[renderer-e2e memory] skipped: ${reason}`);

describe.skipIf(reason !== null)('memory estimate by the size control (npm run serve + chromium)', () => {
  beforeAll(() => mkdirSync(ARTIFACTS, { recursive: true }));
  const host = useHostPage({ weights: WEIGHTS, viewport: { width: 1440, height: 1000 } });

  it('shows the estimate, proposes the largest size or tiles when it does not fit, and applies either', { timeout: 180_000 }, async () => {
    const shot = (name: string): Promise<Buffer> => host.page.screenshot({ path: path.join(ARTIFACTS, `memory-${name}.png`) });
    const line = host.page.getByTestId('memory-estimate');
    await host.page.goto(host.server.url);
    await expect.poll(() => host.page.getByTestId('start').isVisible()).toBe(true);
    await host.page.getByTestId('content-input').setInputFiles(CONTENT);
    await expect.poll(() => host.page.getByText('128 × 128 px').count()).toBe(1);

    // The default 384 px against the memory available now.
    await expect.poll(() => line.textContent(), { timeout: 30_000 }).toMatch(/≈ [\d.]+ (MB|GB) of [\d.]+ (MB|GB) available for 384 × 384 px/);

    // A 900 MB limit and 1024 px: about 5 GB with L-BFGS, so it does not fit.
    await host.page.getByTestId('param-memory-limit').fill('900');
    await host.page.getByTestId('param-size').fill('1024');
    await expect.poll(() => line.getAttribute('data-fits'), { timeout: 30_000 }).toBe('false');
    await expect.poll(() => line.textContent()).toMatch(/of 900 MB limit for 1024 × 1024 px · does not fit/);
    const proposal = host.page.getByTestId('memory-proposal');
    await expect.poll(() => proposal.isVisible()).toBe(true);
    const useLargest = host.page.getByTestId('use-largest-size');
    const largestText = (await useLargest.textContent()) ?? '';
    const largest = Number(/Use (\d+) px \(largest that fits\)/.exec(largestText)?.[1]);
    expect(largest, largestText).toBeGreaterThanOrEqual(64);
    expect(largest).toBeLessThan(1024);
    expect(await host.page.getByTestId('use-tiles').textContent()).toMatch(/Render in \d+ tiles of \d+ px/);
    // With tiling on automatic, the line also says what Start would do.
    expect(await host.page.getByTestId('memory-plan').textContent()).toMatch(/Start renders \d+ tiles of \d+ px/);
    await shot('01-proposal');

    // One click: the largest size that fits.
    await useLargest.click();
    await expect.poll(() => host.page.getByTestId('param-size').inputValue()).toBe(String(largest));
    await expect.poll(() => line.getAttribute('data-fits'), { timeout: 30_000 }).toBe('true');
    expect(await proposal.count()).toBe(0);
    await shot('02-largest');

    // The other click: tiles of the proposed size; the proposal goes, the plan stays.
    await host.page.getByTestId('param-size').fill('1024');
    await expect.poll(() => proposal.isVisible(), { timeout: 30_000 }).toBe(true);
    const tilesText = (await host.page.getByTestId('use-tiles').textContent()) ?? '';
    const tilePx = /tiles of (\d+) px/.exec(tilesText)?.[1];
    await host.page.getByTestId('use-tiles').click();
    await expect.poll(() => host.page.getByTestId('param-tile').inputValue()).toBe('size');
    await expect.poll(() => host.page.getByTestId('param-tile-px').inputValue()).toBe(tilePx);
    await expect.poll(() => proposal.count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(() => host.page.getByTestId('memory-plan').textContent()).toMatch(new RegExp(`Start renders \\d+ tiles of ${tilePx} px`));
    await shot('03-tiles');

    expect(await host.page.getByTestId('error').count(), await host.page.getByTestId('error').allTextContents().then((t) => t.join(' | '))).toBe(0);
    expect(host.problems).toEqual([]);
  });

  it('keeps the memory limit, tiling and video options across a reload, says which ffmpeg is used, and takes no ffmpeg path from the host.page', { timeout: 120_000 }, async () => {
    await host.page.getByTestId('video-fps').fill('24');
    await host.page.getByTestId('record-timelapse').uncheck();
    const ffmpeg = host.page.getByTestId('ffmpeg-status');
    await expect.poll(() => ffmpeg.getAttribute('data-found'), { timeout: 30_000 }).toMatch(/^(true|false)$/);
    // Choosing an ffmpeg sits with the other ffmpeg details, behind the disclosure: in the browser the host's command
    // line says which (the host runs what is named, so the page names none).
    await ffmpeg.getByText('Details', { exact: true }).click();
    expect(await ffmpeg.locator('input').count()).toBe(0);
    await host.page.getByTestId('ffmpeg-choose').click();
    await expect.poll(() => host.page.getByTestId('ffmpeg-choice-help').textContent()).toContain('npm run serve -- --ffmpeg PATH');
    // Saves are debounced: give them a moment before reloading.
    await host.page.waitForTimeout(1500);
    await host.page.reload();
    await expect.poll(() => host.page.getByTestId('start').isVisible()).toBe(true);
    await expect.poll(() => host.page.getByTestId('param-memory-limit').inputValue()).toBe('900');
    await expect.poll(() => host.page.getByTestId('param-tile').inputValue()).toBe('size');
    await expect.poll(() => host.page.getByTestId('video-fps').inputValue()).toBe('24');
    expect(await host.page.getByTestId('record-timelapse').isChecked()).toBe(false);
    expect(host.problems).toEqual([]);
  });

  it('a run over the limit renders in tiles: the notice shows, steering is off with the reason, and it ends at the requested size', { timeout: 240_000 }, async () => {
    await host.page.goto(host.server.url);
    await expect.poll(() => host.page.getByTestId('start').isVisible()).toBe(true);
    await host.page.getByTestId('content-input').setInputFiles(CONTENT);
    await host.page.getByTestId('style-input').setInputFiles(STYLE);
    await expect.poll(() => host.page.getByText('128 × 128 px').count()).toBe(2);
    // 320 px with Adam needs about 640 MB: over 600 MB, so Start tiles (4 tiles after a 160-px pass), 1 iteration each
    // (at 256 px and below the setup's ~580 MB sets the peak, so nothing smaller than the whole image would fit).
    await host.page.getByTestId('param-tile').selectOption('auto');
    await host.page.getByTestId('param-optimizer').selectOption('adam');
    await host.page.getByTestId('param-memory-limit').fill('600');
    await host.page.getByTestId('param-size').fill('320');
    await host.page.getByTestId('param-iterations').fill('1');
    await host.page.getByTestId('param-iterations').press('Tab');
    await expect.poll(() => host.page.getByTestId('memory-plan').textContent(), { timeout: 30_000 }).toMatch(/Start renders 4 tiles/);

    await host.page.getByTestId('start').click();
    await expect.poll(() => host.page.getByTestId('run-notice').first().textContent(), { timeout: 60_000 }).toMatch(
      /^320x320 needs about \d+ MB, over the 600 MB memory limit: rendering 4 tiles of \d+ px/,
    );
    await expect.poll(() => host.page.getByTestId('steer-blocked').textContent(), { timeout: 30_000 }).toMatch(/Tiled runs/);
    await host.page.screenshot({ path: path.join(ARTIFACTS, 'memory-04-tiled-run.png') });
    await expect.poll(() => host.page.getByTestId('status').getAttribute('data-state'), { timeout: 200_000 }).toBe('done');
    await expect.poll(() => host.page.getByTestId('history-entry').count()).toBe(1);
    // The finished image is the requested 320 × 320; the iterations are the pass's and the 4 tiles'.
    expect(await host.page.getByTestId('history-entry').textContent()).toMatch(/320×320 · 5 it/);
    // Done: the steering note goes with the run; the notice stays with its result.
    expect(await host.page.getByTestId('steer-blocked').count()).toBe(0);
    expect(await host.page.getByTestId('run-notice').count()).toBe(1);
    expect(await host.page.getByTestId('error').count(), await host.page.getByTestId('error').allTextContents().then((t) => t.join(' | '))).toBe(0);
    expect(host.problems).toEqual([]);
  });
});
