// The studio without a mouse (issue 18), in chromium with the fake host: from first load to an exported image and
// video by Tab, Shift+Tab, Enter, Space and the arrow keys (files come in through the file choosers, as a keyboard
// user's file dialog gives them), with focus checked after every step: never on the page itself.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { hasChromium } from './helpers/browser.js';
import { startFakeStudio, type FakeStudio } from './helpers/fake-studio.js';
import type { FakeApiOptions } from './helpers/fake-api.js';

const CONTENT = sharedPath('data', 'images', 'content_tubingen_128.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_128.png');

const reason = !hasChromium()
  ? '/usr/bin/chromium is absent (apt-get install chromium)'
  : !hasShared('data', 'images', 'content_tubingen_128.png')
    ? '../shared/data/images is absent'
    : null;
if (reason) console.warn(`[renderer-e2e] keyboard-only tests skipped: ${reason}`);

/** What has focus, in a line: its test id, else its tag and name; 'BODY' when focus fell to the page. */
const focused = (page: Page): Promise<string> =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return 'BODY';
    return el.dataset.testid ?? `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim()}"`;
  });

describe.skipIf(reason !== null)('keyboard only (fake host, chromium)', () => {
  let studio: FakeStudio;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    studio = await startFakeStudio();
  }, 180_000);

  afterAll(async () => {
    await studio?.close();
  });

  afterEach(async () => {
    await page?.close();
  });

  const open = async (options: Partial<FakeApiOptions> = {}): Promise<void> => {
    ({ page, problems } = await studio.open(options));
    // Listening turns on Playwright's file chooser interception now, before any key opens one (turned on by the
    // first waitForEvent instead, it can come after the key press, and the chooser goes by unseen).
    page.on('filechooser', () => undefined);
    await page.waitForTimeout(100);
  };
  const state = () => page.getByTestId('status').getAttribute('data-state');

  /** Presses Tab (or Shift+Tab) until focus is where `want` says, failing if focus ever falls to the page. */
  async function tabTo(want: string | RegExp, back = false, max = 200): Promise<void> {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
      const now = await focused(page);
      expect(now, `Tab ${i + 1} towards ${String(want)}`).not.toBe('BODY');
      if (typeof want === 'string' ? now === want : want.test(now)) return;
    }
    throw new Error(`${String(want)} not reached in ${max} presses of ${back ? 'Shift+Tab' : 'Tab'}`);
  }

  /** Enter or Space on the focused file input, and the chooser answered with `file`. */
  async function choose(file: string): Promise<void> {
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
    await chooser.setFiles(file);
  }

  const expectFocus = async (want: string | RegExp): Promise<void> => {
    await expect.poll(() => focused(page)).toMatch(typeof want === 'string' ? new RegExp(`^${want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : want);
  };

  it('from first load to an exported image and video, focus checked after each step', { timeout: 120_000 }, async () => {
    await open({ msPerIteration: 60 });
    // The skip link first: it goes to the preview, past the 70-odd inputs.
    await page.keyboard.press('Tab');
    await expectFocus('a "Skip to the preview"');

    // The content photo and the style painting, through their file choosers.
    await tabTo('content-input');
    await choose(CONTENT);
    await expect.poll(() => page.getByText('content_tubingen_128.png', { exact: true }).isVisible()).toBe(true);
    await expectFocus('content-input');
    await tabTo('style-input');
    await choose(STYLE);
    await expect.poll(() => page.getByText('style_starry_night_128.png', { exact: true }).isVisible()).toBe(true);
    await expectFocus('style-input');

    // A short run: the iterations field, typed.
    await tabTo('param-iterations');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('40');
    await page.keyboard.press('Tab');
    await expect.poll(() => page.getByTestId('param-iterations').inputValue()).toBe('40');

    // Back up to Start; Enter starts, and focus stays on Start (unavailable while the run goes, still focusable).
    await tabTo('start', true);
    await page.keyboard.press('Enter');
    await expect.poll(state, { timeout: 10_000 }).toBe('running');
    await expectFocus('start');
    expect(await page.getByTestId('start').getAttribute('aria-disabled')).toBe('true');

    // Pause and Resume are one button: focus stays on it as it changes.
    await page.keyboard.press('Tab');
    await expectFocus('pause');
    await page.keyboard.press('Enter');
    await expect.poll(state).toBe('paused');
    await expectFocus('resume');
    await page.keyboard.press('Space');
    await expect.poll(state).toBe('running');
    await expectFocus('pause');
    await expect.poll(state, { timeout: 30_000 }).toBe('done');
    await expectFocus('pause');

    // A chart line hidden and shown again from its legend button.
    await tabTo(/^button "block1_conv1"$/);
    const legend = page.getByRole('button', { name: 'block1_conv1', exact: true });
    expect(await legend.getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('Space');
    expect(await legend.getAttribute('aria-pressed')).toBe('false');
    await page.keyboard.press('Enter');
    expect(await legend.getAttribute('aria-pressed')).toBe('true');

    // JPEG by the arrow keys in the format switch, then Export image.
    await tabTo('export-png');
    await page.keyboard.press('ArrowRight');
    await expectFocus('export-jpeg');
    expect(await page.getByTestId('export-jpeg').isChecked()).toBe(true);
    await tabTo('export');
    const [image] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    expect(image.suggestedFilename()).toBe('neural-style-run-1.jpg');
    await expectFocus('export');

    // GIF by the arrow keys in the format select, then Export video: focus is back on it when the export is done.
    await tabTo('video-format');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByTestId('video-format').inputValue()).toBe('gif');
    await tabTo('export-video');
    const [video] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    expect(video.suggestedFilename()).toBe('neural-style-run-1.gif');
    await expect.poll(() => page.getByTestId('video-progress').count()).toBe(0);
    await expectFocus('export-video');
    expect(problems).toEqual([]);
  });

  it('focus moves on purpose: a removed painting, a dismissed refusal, a dismissed error', { timeout: 60_000 }, async () => {
    await open({ failStart: { code: 'WEIGHTS_MISSING', message: 'No VGG19 weights are installed.' } });
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    const painting = { mimeType: 'image/png', buffer: readFileSync(STYLE) };
    await page.getByTestId('style-input').setInputFiles([{ ...painting, name: path.basename(STYLE) }, { ...painting, name: 'second.png' }]);
    await expect.poll(() => page.locator('[data-remove]').count()).toBe(3);

    // Removing the first painting: focus to the next painting's Remove; removing the last: to the chooser.
    await page.getByRole('button', { name: `Remove the style painting ${path.basename(STYLE)}` }).focus();
    await page.keyboard.press('Enter');
    await expectFocus('button "Remove the style painting second.png"');
    await page.keyboard.press('Enter');
    await expectFocus('style-input');
    await page.getByTestId('style-input').setInputFiles(STYLE);

    // A refused file's Dismiss: focus stays in its slot.
    await page.getByTestId('style-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await expect.poll(() => page.getByTestId('refused-file').count()).toBe(1);
    await tabTo(/^button "Dismiss the refused files for the style paintings"$/);
    await page.keyboard.press('Enter');
    await expectFocus('style-input');

    // The error banner's Dismiss gives focus back to what had it when the error came: Start.
    await tabTo('start', true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('error').count()).toBe(1);
    await tabTo(/^button "Dismiss this message"$/);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('error').count()).toBe(0);
    await expectFocus('start');
    expect(problems).toEqual([]);
  });

  it('Stop keeps focus while the run stops; the shortcuts start, pause, stop and export', { timeout: 90_000 }, async () => {
    await open({ msPerIteration: 80 });
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-iterations').fill('300');
    await page.getByTestId('param-iterations').press('Tab');

    // Ctrl+Enter starts, Ctrl+P pauses and resumes, Ctrl+. stops (the app menu shows the same keys).
    await page.keyboard.press('Control+Enter');
    await expect.poll(state, { timeout: 10_000 }).toBe('running');
    await page.keyboard.press('Control+P');
    await expect.poll(state).toBe('paused');
    await page.keyboard.press('Control+P');
    await expect.poll(state).toBe('running');
    await page.keyboard.press('Control+.');
    await expect.poll(state, { timeout: 10_000 }).toBe('stopped');

    // Ctrl+E and Ctrl+Shift+E export the image and the video.
    const [image] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Control+E')]);
    expect(image.suggestedFilename()).toBe('neural-style-run-1.png');
    await expect.poll(() => page.getByTestId('export').getAttribute('aria-disabled')).toBeNull();
    const [video] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Control+Shift+E')]);
    expect(video.suggestedFilename()).toBe('neural-style-run-1.mp4');
    // Ctrl+O opens the content photo's chooser.
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Control+O')]);
    expect(chooser.isMultiple()).toBe(false);

    // A second run, stopped with its button: focus stays on Stop, never on the page.
    await tabTo('start', true);
    await page.keyboard.press('Enter');
    await expect.poll(state, { timeout: 10_000 }).toBe('running');
    await tabTo('stop');
    await page.keyboard.press('Enter');
    await expect.poll(state, { timeout: 10_000 }).toBe('stopped');
    await expectFocus('stop');
    expect(problems).toEqual([]);
  });
});
