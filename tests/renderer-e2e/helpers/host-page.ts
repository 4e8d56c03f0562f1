// One browser host (`npm run serve`) and one chromium page on it per test file, the page's errors collected: started
// before the file's first test, closed after its last (the set-up the real-host browser tests shared by copy).

import type { Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { REPO_ROOT } from '../../helpers/shared-data.js';
import { collectPageProblems, launchChromium, type LaunchedBrowser } from './browser.js';
import { startStudioServer, type StudioServer } from './studio-server.js';

export interface HostPage {
  readonly server: StudioServer;
  readonly chromium: LaunchedBrowser;
  /** The page the file's tests share (not yet navigated). */
  readonly page: Page;
  /** The page's uncaught errors and console errors; the tests expect it to stay empty. */
  readonly problems: string[];
}

export interface HostPageOptions {
  /** NST_WEIGHTS for the host; null: a fresh install (see startStudioServer). */
  weights: string | null;
  viewport?: { width: number; height: number };
  /** Runs on the new page before anything else (an init script, say). */
  preparePage?: (page: Page) => Promise<unknown>;
}

export function useHostPage(options: HostPageOptions): HostPage {
  let made: { server: StudioServer; chromium?: LaunchedBrowser; page?: Page } | undefined;
  const problems: string[] = [];
  beforeAll(async () => {
    made = { server: await startStudioServer({ repoRoot: REPO_ROOT, weights: options.weights }) };
    made.chromium = await launchChromium(options.viewport ?? { width: 1440, height: 900 });
    made.page = await made.chromium.context.newPage();
    collectPageProblems(made.page, problems);
    await options.preparePage?.(made.page);
  }, 300_000);
  afterAll(async () => {
    await made?.chromium?.close();
    await made?.server.close();
  });
  const get = (): Required<NonNullable<typeof made>> => {
    if (!made?.chromium || !made.page) throw new Error('useHostPage: the host and page are made in beforeAll; use them inside a test.');
    return made as Required<NonNullable<typeof made>>;
  };
  return {
    get server() {
      return get().server;
    },
    get chromium() {
      return get().chromium;
    },
    get page() {
      return get().page;
    },
    problems,
  };
}
