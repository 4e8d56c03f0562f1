// Finds the Electron binary without require('electron'), which would try to download it when it is missing.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * { path } when the Electron executable is on disk; { path: null, reason } (one sentence) when it is not,
 * as where npm ran with ELECTRON_SKIP_BINARY_DOWNLOAD=1 or could not reach Electron's download host.
 */
export function findElectronBinary(projectDir = process.cwd()) {
  let packageDir;
  try {
    packageDir = path.dirname(createRequire(path.join(projectDir, 'package.json')).resolve('electron/package.json'));
  } catch {
    return { path: null, reason: 'the electron package is not installed (run npm install)' };
  }
  const pathFile = path.join(packageDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const binary = path.join(override, relative || 'electron');
    return existsSync(binary) ? { path: binary, distDir: override } : { path: null, reason: `ELECTRON_OVERRIDE_DIST_PATH has no Electron binary (${binary})` };
  }
  const binary = relative ? path.join(packageDir, 'dist', relative) : null;
  if (!binary || !existsSync(binary)) {
    return {
      path: null,
      reason:
        'the Electron binary is not installed (node_modules/electron/dist is missing: npm ran with ELECTRON_SKIP_BINARY_DOWNLOAD=1 or could not download it)',
    };
  }
  return { path: binary, distDir: path.join(packageDir, 'dist') };
}
