// A first start of the studio on a fresh install: no NST_WEIGHTS, nothing installed, an empty data folder. It must
// paint at once: "Try an example", Start, and a finished picture, on the built-in weights.

import { describe, expect, it } from 'vitest';
import { hasChromium } from './helpers/browser.js';
import { serveCommand } from './helpers/studio-server.js';
import { useHostPage } from './helpers/host-page.js';
import { REPO_ROOT } from '../helpers/shared-data.js';

const reason = !hasChromium() ? '/usr/bin/chromium is absent (apt-get install chromium)' : !serveCommand(REPO_ROOT) ? 'this checkout has no `npm run serve`' : null;
if (reason) console.warn(`[first-start] skipped: ${reason}`);

describe.skipIf(reason !== null)('the studio\'s first start on a fresh install', () => {
  const host = useHostPage({ weights: null });

  it('runs the example on the built-in weights, which the Model panel names', { timeout: 240_000 }, async () => {
    await host.page.goto(host.server.url);
    await expect.poll(() => host.page.getByTestId('model-status').getAttribute('data-active'), { timeout: 30_000 }).toBe('builtin');
    await host.page.getByTestId('try-example').click();
    await expect.poll(() => host.page.getByText('golden-gate.jpg').isVisible()).toBe(true);
    await host.page.getByTestId('param-size').fill('64');
    await host.page.getByTestId('param-iterations').fill('3');
    await host.page.getByTestId('param-iterations').press('Tab');
    await host.page.getByTestId('start').click();
    await expect.poll(() => host.page.getByTestId('status').getAttribute('data-state'), { timeout: 180_000 }).toBe('done');
    // The finished picture is drawn once decoded, which may come just after the status says done on a loaded machine.
    await expect.poll(async () => Number(await host.page.getByTestId('preview').getAttribute('data-frames')), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(await host.page.getByTestId('error').count()).toBe(0);
    expect(host.problems).toEqual([]);
  });
});
