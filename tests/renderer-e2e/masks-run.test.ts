// Masks edited during a run reach it (issue 16), through the real browser host (`npm run serve`, built-in weights),
// from the mask panel: masks turned on mid-run and a content mask added are answered by the host rebuilding the
// network (its notice, a chart mark beside the edit's), a later edit of the same kind is marked and taken without a
// rebuild; masks the engine refuses (a style cleared) are refused in its words and the run goes on; the preview goes
// on with fresh frames throughout. The masks painted over a photo are kept by the host (its data folder): after a
// reload the same photo brings them back, another photo gets none.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { collectPageProblems, hasChromium } from './helpers/browser.js';
import { serveCommand } from './helpers/studio-server.js';
import { useHostPage } from './helpers/host-page.js';
import { REPO_ROOT } from '../helpers/shared-data.js';

const reason = !hasChromium() ? '/usr/bin/chromium is absent (apt-get install chromium)' : !serveCommand(REPO_ROOT) ? 'this checkout has no `npm run serve`' : null;
if (reason) console.warn(`[masks-run] skipped: ${reason}`);

describe.skipIf(reason !== null)('masks painted during a run (real browser host)', () => {
  const host = useHostPage({ weights: null });

  /** The iterations of every mark the chart labels (marks close together share a label). */
  const markedIterations = async (): Promise<number[]> =>
    (JSON.parse((await host.page.getByTestId('loss-chart').getAttribute('data-mark-labels')) ?? '[]') as { iterations: number[] }[]).flatMap((l) => l.iterations);
  const labels = async (): Promise<string> => (JSON.parse((await host.page.getByTestId('loss-chart').getAttribute('data-mark-labels')) ?? '[]') as { text: string }[]).map((l) => l.text).join(' | ');
  // The run's one-line notice above the preview (a rebuild says why there).
  const notice = async (): Promise<string> => (await host.page.locator('p.notice:not(.memory)').allTextContents()).join(' ');
  const frames = async (): Promise<number> => Number(await host.page.getByTestId('preview').getAttribute('data-frames'));

  it('masks turned on mid-run rebuild the run, a content mask too, and a same-kind edit steers it; each marked on the chart', { timeout: 300_000 }, async () => {
    await host.page.goto(host.server.url);
    await expect.poll(() => host.page.getByTestId('model-status').getAttribute('data-active'), { timeout: 30_000 }).toBe('builtin');
    await host.page.getByTestId('try-example').click();
    await expect.poll(() => host.page.getByTestId('mask-layer-style-1').count(), { timeout: 30_000 }).toBe(1);
    await host.page.getByTestId('param-size').fill('64');
    await host.page.getByTestId('param-iterations').fill('5000');
    await host.page.getByTestId('param-iterations').press('Tab');
    await host.page.getByTestId('param-stop').selectOption('off');
    await host.page.locator('details', { has: host.page.getByTestId('mask-panel') }).evaluate((d: HTMLDetailsElement) => {
      d.open = true;
    });
    // Style 1 painted everywhere, then masks turned off: the run starts without them.
    await host.page.getByTestId('mask-layer-style-1').check();
    await host.page.getByTestId('mask-fill').click();
    await host.page.getByTestId('masks-enabled').uncheck();

    await host.page.getByTestId('start').click();
    await expect.poll(() => host.page.getByTestId('status').getAttribute('data-state'), { timeout: 180_000 }).toBe('running');
    await expect.poll(frames, { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
    expect(await markedIterations()).toEqual([]);

    // Masks on mid-run: the host takes them by rebuilding the network for them, and says so; the chart marks both.
    await host.page.getByTestId('masks-enabled').check();
    await expect.poll(() => notice(), { timeout: 60_000 }).toMatch(/^Rebuilt the network at iteration \d+: style masks were turned on/);
    await expect.poll(labels).toMatch(/masks changed|changes/);
    await expect.poll(async () => (await markedIterations()).length).toBe(2);
    const framesAtRebuild = await frames();
    await expect.poll(frames, { timeout: 60_000 }).toBeGreaterThan(framesAtRebuild + 1);

    // "Keep the photo here" filled at half strength: a content mask added, another kind, another rebuild.
    await host.page.getByTestId('mask-layer-content').check();
    await host.page.getByRole('slider', { name: 'Opacity', exact: true }).fill('0.5');
    await host.page.getByTestId('mask-fill').click();
    await expect.poll(() => notice(), { timeout: 60_000 }).toMatch(/^Rebuilt the network at iteration \d+: a content mask was added/);
    await expect.poll(async () => (await markedIterations()).length).toBe(4);

    // Filled again at full strength: masks of the same kind, taken at the next iteration without a rebuild.
    await host.page.getByRole('slider', { name: 'Opacity', exact: true }).fill('1');
    await host.page.getByTestId('mask-fill').click();
    await expect.poll(async () => (await markedIterations()).length, { timeout: 30_000 }).toBe(5);
    const framesAtEdit = await frames();
    await expect.poll(frames, { timeout: 60_000 }).toBeGreaterThan(framesAtEdit + 1);
    // No rebuild came of it: a rebuild would be a sixth mark.
    expect(await markedIterations()).toHaveLength(5);
    expect(await host.page.getByTestId('status').getAttribute('data-state')).toBe('running');
    expect(await host.page.getByTestId('error').count()).toBe(0);

    // Style 1 cleared: black everywhere, refused in the engine's words; the run goes on with its masks, unmarked.
    await host.page.getByTestId('mask-layer-style-1').check();
    await host.page.getByTestId('mask-clear').click();
    await expect.poll(() => host.page.getByTestId('error').textContent(), { timeout: 30_000 }).toContain('Style mask 1 is black everywhere, so it gives no region');
    const framesAtRefusal = await frames();
    await expect.poll(frames, { timeout: 60_000 }).toBeGreaterThan(framesAtRefusal + 1);
    expect(await markedIterations()).toHaveLength(5);

    await host.page.getByTestId('stop').click();
    await expect.poll(() => host.page.getByTestId('status').getAttribute('data-state'), { timeout: 60_000 }).toBe('stopped');
    expect(host.problems).toEqual([]);
  });

});

// Its own host, so its own data folder: the runs above paint over the example photo, whose masks would come back here.
describe.skipIf(reason !== null)('masks kept with a photo (real browser host)', () => {
  const host = useHostPage({ weights: null });

  it('keeps the masks painted over a photo: after a reload the same photo brings them back, another photo gets none', { timeout: 120_000 }, async () => {
    const other = path.join(mkdtempSync(path.join(tmpdir(), 'nst-masks-kept-')), 'other.png');
    await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 200, g: 120, b: 40 } } }).png().toFile(other);
    const fresh = await host.chromium.context.newPage();
    const seen: string[] = [];
    collectPageProblems(fresh, seen);
    const panel = fresh.getByTestId('mask-panel');
    /** The example photo and painting, the Masks panel open. */
    const example = async (): Promise<void> => {
      await fresh.getByTestId('try-example').click();
      await expect.poll(() => fresh.getByTestId('mask-layer-style-1').count(), { timeout: 30_000 }).toBe(1);
      await fresh.locator('details', { has: panel }).evaluate((d: HTMLDetailsElement) => {
        d.open = true;
      });
    };
    /** The overlay's alpha at the middle of the photo (the strongest layer there). */
    const middle = async (): Promise<number> => {
      if ((await fresh.getByTestId('mask-edit').getAttribute('aria-pressed')) !== 'true') await fresh.getByTestId('mask-edit').click();
      await fresh.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      return fresh.getByTestId('mask-overlay').evaluate((c: HTMLCanvasElement) => c.getContext('2d')!.getImageData(c.width >> 1, c.height >> 1, 1, 1).data[3]!);
    };

    await fresh.goto(host.server.url);
    await example();
    expect(await panel.getAttribute('data-kept')).toBe('none');
    await fresh.getByTestId('mask-layer-style-1').check();
    await fresh.getByTestId('mask-fill').click();
    expect(await middle()).toBe(255);
    await expect.poll(() => panel.getAttribute('data-kept'), { timeout: 15_000 }).toBe('saved');

    // A new session of the window: nothing painted until the photo comes back.
    await fresh.reload();
    await example();
    await expect.poll(() => panel.getAttribute('data-kept'), { timeout: 15_000 }).toBe('restored');
    expect(await fresh.getByTestId('masks-enabled').isChecked()).toBe(true);
    expect(await middle()).toBe(255);

    // Another photo: its own (no) masks; the example's come back with the example's photo.
    await fresh.getByTestId('content-input').setInputFiles(other);
    await expect.poll(() => fresh.getByTestId('mask-overlay').evaluate((c: HTMLCanvasElement) => c.width)).toBe(96);
    await fresh.waitForTimeout(1000);
    expect(await panel.getAttribute('data-kept')).toBe('none');
    expect(await middle()).toBe(0);
    // The example's photo again, now from a file (the same bytes, another way in).
    await fresh.getByTestId('content-input').setInputFiles(path.join(REPO_ROOT, 'resources', 'examples', 'golden-gate.jpg'));
    await expect.poll(() => panel.getAttribute('data-kept'), { timeout: 15_000 }).toBe('restored');
    expect(await middle()).toBe(255);
    expect(seen).toEqual([]);
    await fresh.close();
  });
});
