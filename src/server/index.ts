// `npm run serve`: the studio in a browser. Serves the built renderer and the StudioApi over a WebSocket on
// 127.0.0.1 (random free port, random token) with the same services as the desktop app, and prints the URL.
// Bundled to out/server/serve.js beside out/server/job-worker.js (scripts/build-node.mjs).

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StudioBackend } from '../main/services/studio-backend.js';
import { fileSystemError, WEIGHTS_ENV } from '../engine/index.js';
import { DEFAULT_HOST, startStudioHost } from './host.js';

const USAGE = `Usage: npm run serve -- [--port N] [--host ADDRESS] [--allow-host NAME]… [--weights PATH] [--ffmpeg PATH] [--data-dir DIR] [--renderer-dir DIR] [--threads N]

  --port N           port to listen on (default: a free one)
  --host ADDRESS     interface to bind (default ${DEFAULT_HOST}; anything else exposes the studio to the network)
  --allow-host NAME  a host name the page may be opened by besides this machine's own names and addresses
                     (a DNS name, say); repeatable. Requests naming any other host are refused (DNS rebinding)
  --weights PATH     VGG19 weights (.h5, .onnx or TF.js folder); default $${WEIGHTS_ENV}, then DATA_DIR/weights
  --ffmpeg PATH      the ffmpeg for video export; default $NST_FFMPEG, then ffmpeg-static, then PATH (the page cannot choose one)
  --data-dir DIR     where settings are kept (default: the user's app-data folder)
  --renderer-dir DIR the built renderer (default: out/renderer beside this bundle)
  --threads N        CPU threads per run (default: all cores)`;

/** The per-user app-data folder for the browser host's settings. */
export function defaultDataDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  const home = os.homedir();
  const base =
    platform === 'win32'
      ? (env.APPDATA ?? path.join(home, 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? path.join(home, 'Library', 'Application Support')
        : (env.XDG_CONFIG_HOME ?? path.join(home, '.config'));
  return path.join(base, 'neural-style-studio-host');
}

/** The version in package.json (two folders up, from out/server or src/server alike). */
function packageVersion(file: string): string {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function fail(message: string): never {
  process.stderr.write(`nst serve: ${message}\n`);
  process.exit(2);
}

function wholeNumber(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) fail(`${name} must be a whole number from 0 to ${max}, got "${text}".`);
  return value;
}

async function main(): Promise<void> {
  // Everything this host writes (settings, runs and their photos, timelapse frames, batch inputs, weights, videos in
  // the temp folder) is its user's alone: files 0600, folders 0700. Nothing it writes is meant for others.
  process.umask(0o077);
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'allow-host': { type: 'string', multiple: true },
        weights: { type: 'string' },
        ffmpeg: { type: 'string' },
        'data-dir': { type: 'string' },
        'renderer-dir': { type: 'string' },
        threads: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const port = wholeNumber('--port', values.port, 0, 65535);
  const threads = wholeNumber('--threads', values.threads, 0, 256);
  const host = values.host ?? DEFAULT_HOST;
  const rendererDir = path.resolve(values['renderer-dir'] ?? path.join(here, '..', 'renderer'));
  const workerFile = path.join(here, 'job-worker.js');
  if (!existsSync(workerFile)) fail(`${workerFile} is missing: build the host first (npm run build:server).`);
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    process.stderr.write(`nst serve: warning: ${rendererDir}/index.html is missing; build the renderer (npm run serve builds it).\n`);
  }

  const backend = await StudioBackend.create({
    dataDir: path.resolve(values['data-dir'] ?? defaultDataDir()),
    worker: { url: workerFile },
    version: packageVersion(path.join(here, '..', '..', 'package.json')),
    weightsArgument: values.weights ?? null,
    ffmpegPath: values.ffmpeg ?? null,
    threads,
  });
  let studio;
  try {
    studio = await startStudioHost({ backend, rendererDir, host, port, allowHosts: values['allow-host'] ?? [] });
  } catch (error) {
    await backend.dispose();
    fail(`could not listen on ${host}:${port}: ${(error as Error).message}`);
  }
  if (!studio.loopbackOnly) {
    process.stderr.write(
      `nst serve: warning: listening on ${host}, not just this machine. Anyone who can reach it and learns the URL's token can ` +
        'run jobs and read results; traffic is not encrypted. Prefer the default (127.0.0.1) or an SSH tunnel.\n',
    );
  }
  const info = await backend.services.getAppInfo();
  if (info.ok && info.value.weights.source === null) process.stderr.write(`nst serve: warning: ${info.value.weights.help}\n`);
  else if (info.ok) process.stderr.write(`nst serve: weights ${info.value.weights.source}\n`);
  process.stdout.write(`Neural Style Studio is running. Open this URL in a browser (it carries the access token):\n  ${studio.url}\n`);

  let closing = false;
  // Ctrl-C, SIGTERM, and SIGHUP (the terminal it runs in closed): the run in progress stops after its iteration,
  // keeping its checkpoint, before the host exits. A second signal ends it at once (the last checkpoint stays).
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) process.exit(128 + (os.constants.signals[signal] ?? 0));
    closing = true;
    void studio
      .close()
      .then(() => backend.dispose())
      .finally(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, shutdown);
}

// A data folder that is a file or on a read-only disk is a sentence (sys/fs-errors.ts), not a stack.
main().catch((error: unknown) => fail(fileSystemError(error)?.message ?? (error instanceof Error ? (error.stack ?? error.message) : String(error))));
