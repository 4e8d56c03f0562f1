// WCAG 2.1 AA in every state of the studio (issue 18), in chromium with the fake host: axe-core (A/AA and best
// practice) finds no serious or critical violation in either theme; control edges reach 3:1; the live region stays
// calm through a run; the page reflows at 200% and 400% zoom; names are unique; forced colours and reduced motion hold.

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { hasChromium } from './helpers/browser.js';
import { startFakeStudio, type FakeStudio } from './helpers/fake-studio.js';
import { describeViolations, isSerious, runAxe, transitionsDone } from './helpers/axe.js';
import type { FakeApiOptions } from './helpers/fake-api.js';

const CONTENT = sharedPath('data', 'images', 'content_tubingen_128.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_128.png');
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'renderer-e2e');

const reason = !hasChromium()
  ? '/usr/bin/chromium is absent (apt-get install chromium)'
  : !hasShared('data', 'images', 'content_tubingen_128.png')
    ? '../shared/data/images is absent'
    : null;
if (reason) console.warn(`[renderer-e2e] accessibility tests skipped: ${reason}`);

type Scheme = 'dark' | 'light';

describe.skipIf(reason !== null)('accessibility (fake host, chromium)', () => {
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

  const open = async (options: Partial<FakeApiOptions> = {}, scheme: Scheme = 'dark'): Promise<void> => {
    ({ page, problems } = await studio.open(options));
    await emulate({ colorScheme: scheme });
  };
  /** Media features changed, then the 120 ms colour transitions left to end (axe would read a colour half-way). */
  const emulate = async (media: Parameters<Page['emulateMedia']>[0]): Promise<void> => {
    await page.emulateMedia(media);
    await transitionsDone(page);
  };
  const addImages = async (): Promise<void> => {
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await expect.poll(() => page.getByTestId('start').getAttribute('aria-disabled')).toBeNull();
    // Start's fill fades in over 120 ms: axe would read its words against half a fill.
    await transitionsDone(page);
  };
  const state = () => page.getByTestId('status').getAttribute('data-state');
  const openPanel = (title: string) =>
    page.locator('details', { has: page.getByRole('heading', { name: title, exact: true }) }).evaluate((d: HTMLDetailsElement) => {
      d.open = true;
    });

  /** axe on the page as it is; fails with every serious or critical violation's id, targets and help. */
  const expectNoSerious = async (label: string): Promise<void> => {
    await transitionsDone(page);
    const violations = await runAxe(page);
    const serious = violations.filter(isSerious);
    await page.screenshot({ path: path.join(ARTIFACTS, `a11y-${label}.png`), fullPage: true });
    expect(describeViolations(serious), `axe, ${label}: serious or critical violations`).toBe('');
  };

  /**
   * Every field, select and bordered button whose edge is what shows it as a control: that edge against what is
   * behind the control reaches 3:1 (WCAG 1.4.11). Returns the ones that do not.
   */
  const weakEdges = (): Promise<string[]> =>
    page.evaluate(() => {
      const rgb = (c: string): [number, number, number, number] => {
        const m = c.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0, 0];
        return [m[0]!, m[1]!, m[2]!, m[3] ?? 1];
      };
      const lum = ([r, g, b]: number[]): number => {
        const f = (v: number): number => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
      };
      const ratio = (a: number[], b: number[]): number => {
        const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
        return (x! + 0.05) / (y! + 0.05);
      };
      const behind = (el: Element | null): number[] => {
        for (let e = el; e; e = e.parentElement) {
          const c = rgb(getComputedStyle(e).backgroundColor);
          if (c[3] > 0.5) return c;
        }
        return rgb(getComputedStyle(document.documentElement).backgroundColor);
      };
      const out: string[] = [];
      const controls = document.querySelectorAll<HTMLElement>('input[type="number"], input[type="text"], select, button:not(.ghost):not(.primary):not(.legend-toggle)');
      for (const el of controls) {
        const style = getComputedStyle(el);
        if (el.getClientRects().length === 0 || style.visibility === 'hidden' || parseFloat(style.borderTopWidth) === 0) continue;
        if ((el as HTMLButtonElement).disabled || el.getAttribute('aria-disabled') === 'true' || (el as HTMLInputElement).disabled) continue;
        const edge = rgb(style.borderTopColor);
        const value = ratio(edge, behind(el.parentElement));
        if (value < 3) out.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''} ${value.toFixed(2)}:1`);
      }
      return out;
    });

  for (const scheme of ['dark', 'light'] as const) {
    it(`axe finds no serious or critical violation in any state, ${scheme} theme; control edges reach 3:1`, { timeout: 120_000 }, async () => {
      await open({ msPerIteration: 150 }, scheme);
      await expectNoSerious(`${scheme}-first-load`);
      expect(await weakEdges()).toEqual([]);

      await addImages();
      await expectNoSerious(`${scheme}-images-added`);

      await page.getByTestId('param-iterations').fill('60');
      await page.getByTestId('start').click();
      await expect.poll(state, { timeout: 10_000 }).toBe('running');
      await expect.poll(async () => Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBeGreaterThan(2);
      await expectNoSerious(`${scheme}-running`);
      expect(await weakEdges()).toEqual([]);

      await page.getByTestId('pause').click();
      await expect.poll(state).toBe('paused');
      await expectNoSerious(`${scheme}-paused`);
      await page.getByTestId('resume').click();
      await expect.poll(state, { timeout: 30_000 }).toBe('done');

      // Finished, with Batch (photos chosen) and Model open, and the Export video panel's Details.
      await openPanel('Batch');
      await openPanel('Model');
      await page.getByTestId('batch-input').setInputFiles([CONTENT, STYLE]);
      await expect.poll(() => page.getByTestId('batch-start').count()).toBe(1);
      await page.getByTestId('ffmpeg-status').getByText('Details', { exact: true }).click();
      await expectNoSerious(`${scheme}-finished-batch-model-video`);
      expect(await weakEdges()).toEqual([]);

      // The batch going, then done.
      await page.getByTestId('batch-start').click();
      await expect.poll(() => page.getByTestId('batch-panel').getAttribute('data-state'), { timeout: 30_000 }).toBe('finished');
      await expectNoSerious(`${scheme}-batch-finished`);
      expect(problems).toEqual([]);
    });

    it(`axe finds no serious or critical violation with an error showing and files refused, ${scheme} theme`, { timeout: 60_000 }, async () => {
      await open({ failStart: { code: 'WEIGHTS_MISSING', message: 'No VGG19 weights are installed.' } }, scheme);
      await addImages();
      await page.getByTestId('style-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
      await page.getByTestId('start').click();
      await expect.poll(() => page.getByTestId('error').count()).toBe(1);
      await expect.poll(() => page.getByTestId('refused-file').count()).toBe(1);
      await expectNoSerious(`${scheme}-error`);
    });
  }

  it('axe finds no serious or critical violation with no weights at all (the Model panel leads), and in more contrast', { timeout: 60_000 }, async () => {
    await open({ weightsInstalled: false });
    await expect.poll(() => page.getByTestId('model-status').getAttribute('data-installed')).toBe('false');
    await expectNoSerious('no-weights');
    await emulate({ colorScheme: 'dark', contrast: 'more' });
    await expectNoSerious('more-contrast-dark');
    expect(await weakEdges()).toEqual([]);
    await emulate({ colorScheme: 'light', contrast: 'more' });
    await expectNoSerious('more-contrast-light');
    expect(await weakEdges()).toEqual([]);
  });

  it('one calm live region: a 30-iteration run says a handful of whole sentences; the status bar and chart are not live; the bar is a progressbar', { timeout: 60_000 }, async () => {
    await open({ msPerIteration: 40 });
    await addImages();
    // Every live region of the page, and each change of its text.
    await page.evaluate(() => {
      const log: { region: string; text: string }[] = [];
      (window as unknown as { __live: typeof log }).__live = log;
      const regions = document.querySelectorAll('[aria-live], [role="status"], [role="log"]');
      for (const region of regions) {
        const name = region.getAttribute('data-testid') ?? region.className;
        new MutationObserver(() => log.push({ region: name, text: region.textContent?.trim() ?? '' })).observe(region, { childList: true, subtree: true, characterData: true });
      }
    });
    await page.getByTestId('param-iterations').fill('30');
    await page.getByTestId('start').click();
    await expect.poll(state, { timeout: 30_000 }).toBe('done');
    await page.waitForTimeout(300);
    const log = await page.evaluate(() => (window as unknown as { __live: { region: string; text: string }[] }).__live);
    const said = log.filter((l) => l.region === 'announcer').map((l) => l.text);
    expect(said.length, said.join(' | ')).toBeGreaterThanOrEqual(2);
    expect(said.length, said.join(' | ')).toBeLessThanOrEqual(5);
    for (const sentence of said) expect(sentence).toMatch(/^[A-Z][^]*\w[^]*[.!?]$/);
    expect(said.every((s) => s.split(/\s+/).length >= 3), said.join(' | ')).toBe(true);
    expect(said[0]).toMatch(/^Run started: 30 iterations/);
    expect(said.at(-1)).toBe('Finished after 30 iterations.');
    // Nothing else spoke meanwhile (the status bar changed 34 times in such a run when it was a live region).
    expect(log.filter((l) => l.region !== 'announcer'), JSON.stringify(log)).toEqual([]);
    const region = page.getByTestId('announcer');
    expect(await region.getAttribute('aria-live')).toBe('polite');
    expect(await region.getAttribute('aria-atomic')).toBe('true');
    expect(await page.getByTestId('status').evaluate((el) => el.closest('[aria-live], [role="status"]'))).toBeNull();

    const bar = page.getByRole('progressbar', { name: 'Run progress' });
    expect(await bar.getAttribute('aria-valuenow')).toBe('30');
    expect(await bar.getAttribute('aria-valuemax')).toBe('30');
    expect(await bar.getAttribute('aria-valuetext')).toBe('iteration 30 of 30');
    expect(problems).toEqual([]);
  });

  it('says pause, resume and a layer change in sentences, and the window title carries progress', { timeout: 60_000 }, async () => {
    await open({ msPerIteration: 120 });
    await addImages();
    await page.getByTestId('param-iterations').fill('200');
    await page.getByTestId('start').click();
    await expect.poll(async () => Number(await page.getByTestId('status').getAttribute('data-iteration')), { timeout: 10_000 }).toBeGreaterThan(3);
    await expect.poll(() => page.title()).toMatch(/^\d+% — Neural Style Studio$/);
    const region = page.getByTestId('announcer');
    await page.getByTestId('pause').click();
    await expect.poll(() => region.textContent()).toMatch(/^Paused at iteration \d+ of 200\.$/);
    await expect.poll(() => page.title()).toMatch(/^Paused at \d+% — Neural Style Studio$/);
    await page.getByTestId('resume').click();
    await expect.poll(() => region.textContent()).toMatch(/^Resumed at iteration \d+ of 200\.$/);
    await page.getByTestId('layer-block1_conv1-weight').fill('5');
    await expect.poll(() => region.textContent(), { timeout: 5000 }).toMatch(/^Layer and weight changes reach the running image from iteration \d+\.$/);
    const progress = page.getByRole('progressbar', { name: 'Run progress' });
    expect(await progress.getAttribute('aria-valuetext')).toMatch(/^iteration \d+ of 200$/);
    await page.getByTestId('stop').click();
    await expect.poll(() => region.textContent(), { timeout: 10_000 }).toMatch(/^Stopped at iteration \d+ of 200; the image so far is kept\.$/);
    await expect.poll(() => page.title()).toBe('Neural Style Studio');
    expect(problems).toEqual([]);
  });

  for (const viewport of [
    { width: 640, height: 400, zoom: '200' },
    { width: 320, height: 256, zoom: '400' },
  ]) {
    it(`reflows at ${viewport.zoom}% zoom (${viewport.width} × ${viewport.height} CSS px): every control reachable, the preview 150 px tall, no sideways scrolling`, { timeout: 90_000 }, async () => {
      await open();
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      await addImages();
      await page.getByTestId('param-iterations').fill('8');
      await page.getByTestId('start').click();
      await expect.poll(state, { timeout: 30_000 }).toBe('done');
      for (const title of ['Batch', 'Model']) await openPanel(title);
      await page.getByTestId('ffmpeg-status').getByText('Details', { exact: true }).click();
      await page.waitForTimeout(200);

      // No sideways scrolling of the page (WCAG 1.4.10 at 320 px), and the page scrolls rather than clips.
      const page_ = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
        overflow: [getComputedStyle(document.documentElement).overflowY, getComputedStyle(document.body).overflowY],
      }));
      expect(page_.scrollWidth, 'page wider than the window').toBeLessThanOrEqual(page_.clientWidth);
      expect(page_.overflow).not.toContain('hidden');

      // The preview at least 150 px tall, its fit zoom a positive figure.
      const preview = page.getByTestId('preview');
      await preview.scrollIntoViewIfNeeded();
      expect((await preview.boundingBox())!.height).toBeGreaterThanOrEqual(150);
      expect(Number((await page.getByRole('toolbar', { name: 'Preview tools' }).locator('.zoom').textContent())!.replace('%', ''))).toBeGreaterThan(0);

      // Every control: scrolled to, it is inside the window and nothing covers its centre. A visually hidden input
      // (file, radio) is reached through its label, so the label is what must be there.
      const unreachable = await page.evaluate(() => {
        const selector = 'button, input, select, summary, a[href], [tabindex]:not([tabindex="-1"])';
        const out: string[] = [];
        for (const control of document.querySelectorAll<HTMLElement>(selector)) {
          if (control.closest('details:not([open]) > :not(summary)') || control.closest('[aria-hidden="true"]')) continue;
          if (control.classList.contains('skip-link')) continue;
          const target = control.classList.contains('visually-hidden') ? (control.closest('label') ?? control) : control;
          if (target.getClientRects().length === 0) continue;
          target.scrollIntoView({ block: 'center', inline: 'center' });
          const r = target.getBoundingClientRect();
          const inside = r.width > 0 && r.height > 0 && r.left >= -1 && r.top >= -1 && r.right <= innerWidth + 1 && r.bottom <= innerHeight + 1;
          const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 8), r.top + r.height / 2);
          const free = hit !== null && (target.contains(hit) || hit.contains(target));
          if (!inside || !free) out.push(`${target.tagName.toLowerCase()} "${(target.getAttribute('aria-label') ?? target.textContent ?? '').trim().slice(0, 40)}" ${inside ? 'covered' : 'outside the window'}`);
        }
        return out;
      });
      expect(unreachable).toEqual([]);
      await page.evaluate(() => scrollTo(0, 0));
      await page.screenshot({ path: path.join(ARTIFACTS, `a11y-zoom-${viewport.zoom}.png`) });
      await page.screenshot({ path: path.join(ARTIFACTS, `a11y-zoom-${viewport.zoom}-full.png`), fullPage: true });
      await expectNoSerious(`zoom-${viewport.zoom}`);
      expect(problems).toEqual([]);
    });
  }

  it('names are unique and the layer table is named; the skip link leads to the preview', { timeout: 60_000 }, async () => {
    await open();
    // The first Tab stop is the skip link; Enter puts focus on the preview.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the preview');
    expect(await page.getByRole('link', { name: 'Skip to the preview' }).isVisible()).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('preview');

    await addImages();
    await page.getByTestId('style-input').setInputFiles({ ...{ name: 'second.png', mimeType: 'image/png', buffer: readFileSync(STYLE) } });
    await page.getByTestId('param-iterations').fill('4');
    await page.getByTestId('start').click();
    await expect.poll(state, { timeout: 30_000 }).toBe('done');
    for (const title of ['Batch', 'Model']) await openPanel(title);
    await page.getByTestId('batch-input').setInputFiles([CONTENT, STYLE]);
    await expect.poll(() => page.getByTestId('batch-start').count()).toBe(1);
    const snapshot = await page.locator('body').ariaSnapshot();
    const names = [...snapshot.matchAll(/- (button|link|textbox|spinbutton|combobox|checkbox|slider|radio) "([^"]*)"/g)].map((m) => `${m[1]} "${m[2]}"`);
    const repeated = names.filter((n, i) => names.indexOf(n) !== i);
    expect(repeated, 'controls sharing one name').toEqual([]);
    expect(names.length).toBeGreaterThan(60);
    expect(await page.getByRole('table', { name: /^Layers/ }).count()).toBe(1);
    expect(problems).toEqual([]);
  });

  it('forced colours: a visible outline for focus and system colours for the bar; reduced motion stops the pulse', { timeout: 60_000 }, async () => {
    await open({ msPerIteration: 150 });
    await emulate({ forcedColors: 'active', colorScheme: 'dark' });
    await addImages();
    await page.getByTestId('param-iterations').fill('100');
    await page.getByTestId('start').focus();
    await page.keyboard.press('Enter');
    await expect.poll(state, { timeout: 10_000 }).toBe('running');
    const ring = await page.getByTestId('start').evaluate((el) => {
      const s = getComputedStyle(el);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    expect(ring.style).toBe('solid');
    expect(ring.width).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'a11y-forced-colors.png') });

    await emulate({ forcedColors: 'none', reducedMotion: 'reduce' });
    const pulse = await page.getByTestId('preview').locator('.live').evaluate((el) => getComputedStyle(el, '::before').animationDuration);
    expect(parseFloat(pulse)).toBeLessThan(0.001);
    await page.getByTestId('stop').click();
    expect(problems).toEqual([]);
  });
});
