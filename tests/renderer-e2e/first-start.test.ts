// A first start of the studio on a fresh install: no NST_WEIGHTS, nothing installed, an empty data folder. It must
// paint at once: "Try an example", Start, and a finished picture, on the built-in weights.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { collectPageProblems, hasChromium, launchChromium, type LaunchedBrowser } from './helpers/browser.js';
import { serveCommand, startStudioServer, type StudioServer } from './helpers/studio-server.js';
import { REPO_ROOT } from '../helpers/shared-data.js';

const reason = !hasChromium() ? '/usr/bin/chromium is absent (apt-get install chromium)' : !serveCommand(REPO_ROOT) ? 'this checkout has no `npm run serve`' : null;
if (reason) console.warn(`[first-start] skipped: ${reason}`);

describe.skipIf(reason !== null)('the studio\'s first start on a fresh install', () => {
  let server: StudioServer;
  let chromium: LaunchedBrowser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    server = await startStudioServer({ repoRoot: REPO_ROOT, weights: null });
    chromium = await launchChromium({ width: 1440, height: 900 });
    page = await chromium.context.newPage();
    collectPageProblems(page, problems);
  }, 300_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('runs the example on the built-in weights, which the Model panel names', { timeout: 240_000 }, async () => {
    await page.goto(server.url);
    await expect.poll(() => page.getByTestId('model-status').getAttribute('data-active'), { timeout: 30_000 }).toBe('builtin');
    await page.getByTestId('try-example').click();
    await expect.poll(() => page.getByText('golden-gate.jpg').isVisible()).toBe(true);
    await page.getByTestId('param-size').fill('64');
    await page.getByTestId('param-iterations').fill('3');
    await page.getByTestId('param-iterations').press('Tab');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 180_000 }).toBe('done');
    expect(Number(await page.getByTestId('preview').getAttribute('data-frames'))).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
