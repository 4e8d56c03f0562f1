// The app's shipped resources (resources/weights, resources/examples): beside a packaged Electron app, else in the
// checkout or the installed package whose code this is (src/engine/sys, out/cli, out/main, out/server).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder `resources/<name>` that holds `marker`, or null when none does. A packaged app's copy
 * (process.resourcesPath/<name>, electron-builder's extraResources) comes first, then the package's own.
 */
export function resourceFolder(name: string, marker: string): string | null {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  const root = packageRoot();
  const candidates = [...(packaged ? [path.join(packaged, name)] : []), ...(root ? [path.join(root, 'resources', name)] : [])];
  return candidates.find((folder) => existsSync(path.join(folder, marker))) ?? null;
}

/** The nearest folder above this module with a package.json: this package's root, never one beyond it. */
function packageRoot(): string | null {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}
