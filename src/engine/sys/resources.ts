// The app's shipped resources (resources/weights, resources/examples): beside a packaged Electron app, else in the
// checkout or the installed package, found upward from this module (src/engine/sys, out/cli, out/main, out/server).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder `resources/<name>` that holds `marker`, or null when none does. A packaged app's copy
 * (process.resourcesPath/<name>, electron-builder's extraResources) comes first.
 */
export function resourceFolder(name: string, marker: string): string | null {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    ...(packaged ? [path.join(packaged, name)] : []),
    ...[1, 2, 3, 4].map((up) => path.join(here, ...Array<string>(up).fill('..'), 'resources', name)),
  ];
  return candidates.find((folder) => existsSync(path.join(folder, marker))) ?? null;
}
