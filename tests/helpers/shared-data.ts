// Locates the shared fixtures and real data (../shared next to the repository) so tests can use or skip them.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file sits in tests/helpers/. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared folder beside the repository; never copied into it. */
export const SHARED_ROOT = path.resolve(REPO_ROOT, '../shared');

/** An absolute path under ../shared, e.g. `sharedPath('data', 'vgg19-imagenet-uint8')`. */
export function sharedPath(...parts: string[]): string {
  return path.resolve(SHARED_ROOT, ...parts);
}

/**
 * Whether that shared path exists. When it does not, says so once on the console, so a skipped test
 * reads as "data absent" rather than passing in silence.
 */
export function hasShared(...parts: string[]): boolean {
  const target = sharedPath(...parts);
  const present = existsSync(target);
  if (!present) console.warn(`[shared-data] ${target} is absent: tests that need it are skipped.`);
  return present;
}
