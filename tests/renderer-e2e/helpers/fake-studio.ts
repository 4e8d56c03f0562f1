// The built renderer served as static files with the fake window.api (fake-api.ts), in chromium: one build per test
// run (tests/helpers/renderer-build.ts), one browser per test file, a fresh page per test, and files dropped on a
// drop zone the way a file manager drops them.

import type { Locator, Page } from 'playwright-core';
import { collectPageProblems, fakeApiScript, launchChromium, serveFolder, type LaunchedBrowser } from './browser.js';
import type { FakeApiOptions } from './fake-api.js';
import { rendererBuild } from '../../helpers/renderer-build.js';

export interface FakeStudio {
  chromium: LaunchedBrowser;
  /** A new page on the studio with the fake API; its errors are collected into `problems`. */
  open(options?: Partial<FakeApiOptions>): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

export async function startFakeStudio(viewport = { width: 1440, height: 900 }): Promise<FakeStudio> {
  const built = await rendererBuild();
  const server = await serveFolder(built.dir);
  const chromium = await launchChromium(viewport);
  return {
    chromium,
    async open(options = {}) {
      const page = await chromium.context.newPage();
      const problems: string[] = [];
      collectPageProblems(page, problems);
      await page.addInitScript({ content: fakeApiScript({ msPerIteration: 40, devices: ['cpu'], ...options }) });
      await page.goto(server.url);
      // Pages share the origin, so what one test left in storage (the History) would meet the next: start empty.
      if (await page.evaluate(() => localStorage.length > 0)) {
        await page.evaluate(() => localStorage.clear());
        await page.reload();
      }
      return { page, problems };
    },
    async close() {
      await chromium.close();
      await server.close();
      built.release();
    },
  };
}

export interface DroppedFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

/** Drops `files` on `target` as one drag from a file manager would (a DataTransfer holding them all). */
export async function dropFiles(page: Page, target: Locator, files: readonly DroppedFile[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    (list) => {
      const transfer = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: f.mimeType }));
      }
      return transfer;
    },
    files.map((f) => ({ name: f.name, mimeType: f.mimeType, base64: f.buffer.toString('base64') })),
  );
  await target.dispatchEvent('drop', { dataTransfer });
}
