// The app's per-user data folder, shared by the CLI and the studio: installed weights, downloads, run checkpoints.

import os from 'node:os';
import path from 'node:path';

const APP_NAME = 'Neural Style Studio';
/** Linux spells app folders in lower case with dashes (XDG practice). */
const LINUX_FOLDER = 'neural-style-studio';

export interface DataDirOptions {
  readonly platform?: NodeJS.Platform;
  readonly env?: NodeJS.ProcessEnv;
  readonly homedir?: string;
}

/**
 * The per-user data folder: %APPDATA%\Neural Style Studio, ~/Library/Application Support/Neural Style Studio,
 * or $XDG_DATA_HOME/neural-style-studio (~/.local/share/…). NST_DATA_DIR overrides it (tests, portable installs).
 * The CLI and the app share it, so weights fetched by one are there for the other.
 */
export function dataDir(options: DataDirOptions = {}): string {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = options.homedir ?? os.homedir();
  if (env.NST_DATA_DIR) return path.resolve(env.NST_DATA_DIR);
  if (platform === 'win32') {
    return path.win32.join(env.APPDATA || path.win32.join(home, 'AppData', 'Roaming'), APP_NAME);
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', APP_NAME);
  // The XDG spec says a relative $XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.local', 'share');
  return path.posix.join(base, LINUX_FOLDER);
}
