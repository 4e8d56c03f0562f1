// Finds a working ffmpeg (and ffprobe) at run time and runs it: the user's setting, ffmpeg-static,
// @ffmpeg-installer/ffmpeg, then PATH; each candidate must exist and answer `-version`.

import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { NstError } from '../errors.js';

export type FfmpegSource = 'setting' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'path' | 'beside-ffmpeg';

export interface ResolvedTool {
  /** Absolute path of the executable. */
  readonly path: string;
  readonly source: FfmpegSource;
  /** What `-version` printed after "ffmpeg version" / "ffprobe version". */
  readonly version: string;
  /** Why earlier candidates were passed over (a user setting that does not work is worth saying). */
  readonly skipped: readonly string[];
}

/** Where the npm packages' binaries are looked up; tests replace these to play an absent package. */
export interface PackageLocators {
  /** The path ffmpeg-static exports (null when its install could not download a binary for this platform). */
  ffmpegStatic?: () => string | null;
  /** The path @ffmpeg-installer/ffmpeg exports (it throws when its platform package is missing). */
  ffmpegInstaller?: () => string | null;
}

export interface ResolveFfmpegOptions {
  /** The user's choice (CLI --ffmpeg / NST_FFMPEG, studio settings); tried first. Empty or null: none. */
  settingPath?: string | null;
  /** PATH (and PATHEXT on Windows) are read from here. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  packages?: PackageLocators;
  /** How long one `-version` check may take. Default 15 s (a cold start of a 70 MB static binary on a slow disk). */
  timeoutMs?: number;
}

export const FFMPEG_HELP =
  'Video export needs ffmpeg. Install it so `ffmpeg` is on PATH (Debian/Ubuntu: sudo apt install ffmpeg; ' +
  'macOS: brew install ffmpeg; Windows: winget install Gyan.FFmpeg), or point nst at an ffmpeg executable: ' +
  '--ffmpeg PATH or NST_FFMPEG for the CLI and `npm run serve`, Choose ffmpeg… under Export video\'s Details in the desktop studio. ' +
  '(npm installs one too where it can: ffmpeg-static downloads it, @ffmpeg-installer/ffmpeg ships it.)';

const FFPROBE_HELP =
  'ffprobe comes with ffmpeg: install ffmpeg so `ffprobe` is on PATH (Debian/Ubuntu: sudo apt install ffmpeg; ' +
  'macOS: brew install ffmpeg; Windows: winget install Gyan.FFmpeg). The npm packages ship ffmpeg only.';

// createRequire rather than import: both packages are optional and may be missing, and bundlers (esbuild for the
// CLI, electron-vite for the app) leave a require through a variable alone, so the packages resolve at run time.
const requireOptional = createRequire(import.meta.url);

const DEFAULT_LOCATORS: Required<PackageLocators> = {
  ffmpegStatic: () => {
    const id = 'ffmpeg-static';
    const exported: unknown = requireOptional(id);
    return typeof exported === 'string' ? exported : null;
  },
  ffmpegInstaller: () => {
    const id = '@ffmpeg-installer/ffmpeg';
    const exported = requireOptional(id) as { path?: unknown };
    return typeof exported.path === 'string' ? exported.path : null;
  },
};

/**
 * The first usable ffmpeg of: `settingPath`, ffmpeg-static, @ffmpeg-installer/ffmpeg, `ffmpeg` on PATH.
 * Throws FFMPEG_NOT_FOUND naming what was tried and how to get one.
 */
export async function resolveFfmpeg(options: ResolveFfmpegOptions = {}): Promise<ResolvedTool> {
  const locators = { ...DEFAULT_LOCATORS, ...options.packages };
  const env = options.env ?? process.env;
  const candidates: Candidate[] = [
    ...(options.settingPath ? [{ source: 'setting' as const, label: `the ffmpeg setting (${options.settingPath})`, locate: () => options.settingPath! }] : []),
    { source: 'ffmpeg-static', label: 'ffmpeg-static', locate: locators.ffmpegStatic },
    { source: '@ffmpeg-installer/ffmpeg', label: '@ffmpeg-installer/ffmpeg', locate: locators.ffmpegInstaller },
    { source: 'path', label: '`ffmpeg` on PATH', locate: () => findOnPath('ffmpeg', env) },
  ];
  return firstUsable('ffmpeg', candidates, options.timeoutMs ?? 15_000, FFMPEG_HELP);
}

export interface ResolveFfprobeOptions {
  settingPath?: string | null;
  /** An ffmpeg already found: an ffprobe beside it is preferred (the same build). */
  ffmpegPath?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** ffprobe: the setting, beside `ffmpegPath`, then PATH (the npm packages ship ffmpeg only). */
export async function resolveFfprobe(options: ResolveFfprobeOptions = {}): Promise<ResolvedTool> {
  const env = options.env ?? process.env;
  const exe = process.platform === 'win32' ? 'ffprobe.exe' : 'ffprobe';
  const candidates: Candidate[] = [
    ...(options.settingPath ? [{ source: 'setting' as const, label: `the ffprobe setting (${options.settingPath})`, locate: () => options.settingPath! }] : []),
    ...(options.ffmpegPath ? [{ source: 'beside-ffmpeg' as const, label: `ffprobe beside ${options.ffmpegPath}`, locate: () => path.join(path.dirname(options.ffmpegPath!), exe) }] : []),
    { source: 'path', label: '`ffprobe` on PATH', locate: () => findOnPath('ffprobe', env) },
  ];
  return firstUsable('ffprobe', candidates, options.timeoutMs ?? 15_000, FFPROBE_HELP);
}

interface Candidate {
  source: FfmpegSource;
  label: string;
  locate: () => string | null;
}

async function firstUsable(tool: 'ffmpeg' | 'ffprobe', candidates: readonly Candidate[], timeoutMs: number, help: string): Promise<ResolvedTool> {
  const skipped: string[] = [];
  for (const candidate of candidates) {
    let located: string | null;
    try {
      located = candidate.locate();
    } catch (error) {
      skipped.push(`${candidate.label}: ${isMissingModule(error) ? 'not installed' : describe(error)}`);
      continue;
    }
    if (!located) {
      skipped.push(`${candidate.label}: ${candidate.source === 'path' ? 'not found' : 'no binary for this platform'}`);
      continue;
    }
    const executable = asarUnpacked(path.resolve(located));
    const check = await checkTool(tool, executable, timeoutMs);
    if (check.ok) return { path: executable, source: candidate.source, version: check.version, skipped };
    skipped.push(`${candidate.label}: ${check.reason}`);
  }
  throw new NstError('FFMPEG_NOT_FOUND', `No usable ${tool} found (tried ${skipped.join('; ')}). ${help}`);
}

/** Runs `TOOL -version` and reads the version from its first line. */
async function checkTool(tool: string, executable: string, timeoutMs: number): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  try {
    const info = statSync(executable);
    if (!info.isFile()) return { ok: false, reason: `${executable} is not a file` };
  } catch {
    return { ok: false, reason: `${executable} does not exist` };
  }
  const result = await runQuietly(executable, ['-hide_banner', '-version'], timeoutMs);
  if (result.error) return { ok: false, reason: `${executable} cannot run (${result.error})` };
  const match = new RegExp(`^${tool} version (\\S+)`).exec(result.stdout);
  if (result.code !== 0 || !match) {
    return { ok: false, reason: `${executable} -version did not answer as ${tool} does (exit ${result.code})` };
  }
  return { ok: true, version: match[1]! };
}

/**
 * Runs `executable args` and collects its stdout, killing it after `timeoutMs`. The timer is our own, cleared however
 * the child ends: spawn's `timeout` option clears its timer only on 'exit', which a child that never started (a file
 * without execute permission: EACCES) does not emit, so the process stayed alive for the whole timeout.
 */
function runQuietly(executable: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; error?: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const settle = (result: { code: number | null; stdout: string; error?: string }): void => {
      clearTimeout(timer);
      resolve(result);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < 4096) stdout += chunk.toString();
    });
    child.on('error', (error: NodeJS.ErrnoException) => settle({ code: null, stdout, error: error.code ?? error.message }));
    child.on('close', (code, signal) => settle({ code, stdout, ...(signal ? { error: `killed by ${signal}` } : {}) }));
  });
}

/** The first `name` (with PATHEXT's endings on Windows) in the PATH folders that is a file. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const pathText = env.PATH ?? env.Path ?? '';
  const endings = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean) : [''];
  for (const folder of pathText.split(path.delimiter).filter(Boolean)) {
    for (const ending of endings) {
      const candidate = path.join(folder, name + ending);
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not in this folder
      }
    }
  }
  return null;
}

/** Inside a packaged Electron app the binary must be run from app.asar.unpacked; elsewhere the path is unchanged. */
function asarUnpacked(executable: string): string {
  const marker = `${path.sep}app.asar${path.sep}`;
  return executable.includes(marker) ? executable.replace(marker, `${path.sep}app.asar.unpacked${path.sep}`) : executable;
}

function isMissingModule(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'MODULE_NOT_FOUND';
}

function describe(error: unknown): string {
  // @ffmpeg-installer/ffmpeg throws a bare string when its platform package is absent.
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
