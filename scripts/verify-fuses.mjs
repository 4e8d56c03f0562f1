// Reads the Electron fuse wire out of packaged apps' binaries and checks it against electron-builder.yml's
// electronFuses. `npm run dist` runs it on what it built, so a packaging change that loses a fuse (RunAsNode back
// on, cookie encryption off, asar integrity off) fails the build instead of shipping. `node scripts/verify-fuses.mjs
// [DIST_DIR]` checks a dist folder by hand.
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Marks the fuse wire in every Electron binary since 12 (@electron/fuses' SENTINEL). */
export const FUSE_SENTINEL = Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX', 'latin1');

/** electron-builder's electronFuses keys, in fuse-wire order (FuseV1Options). */
export const FUSE_NAMES = [
  'runAsNode',
  'enableCookieEncryption',
  'enableNodeOptionsEnvironmentVariable',
  'enableNodeCliInspectArguments',
  'enableEmbeddedAsarIntegrityValidation',
  'onlyLoadAppFromAsar',
  'loadBrowserProcessSpecificV8Snapshot',
  'grantFileProtocolExtraPrivileges',
];

const STATES = { 0x30: false, 0x31: true, 0x72: 'removed' };

/**
 * The fuse wire(s) in a binary: one per sentinel (a macOS universal binary has two), each { version, fuses } with
 * fuses[name] true, false or 'removed'. Throws when the binary has no fuse wire.
 */
export function readFuseWires(bytes) {
  const wires = [];
  for (let at = bytes.indexOf(FUSE_SENTINEL); at !== -1; at = bytes.indexOf(FUSE_SENTINEL, at + 1)) {
    const position = at + FUSE_SENTINEL.length;
    const version = bytes[position];
    const length = bytes[position + 1] ?? 0;
    const fuses = {};
    for (let i = 0; i < length && i < FUSE_NAMES.length; i++) {
      const state = STATES[bytes[position + 2 + i]];
      fuses[FUSE_NAMES[i]] = state === undefined ? `unknown (byte ${bytes[position + 2 + i]})` : state;
    }
    wires.push({ version, length, fuses });
  }
  if (wires.length === 0) throw new Error('no Electron fuse wire in this file (not an Electron 12+ binary)');
  return wires;
}

/**
 * One sentence per fuse that differs from `expected` (electronFuses: name → boolean). A fuse this Electron has
 * removed, or a wire too short to hold it, is skipped: the config asks for it only "where supported".
 */
export function fuseProblems(bytes, expected) {
  const problems = [];
  for (const wire of readFuseWires(bytes)) {
    if (wire.version !== 1) {
      problems.push(`fuse wire version ${wire.version} is not the version 1 this check knows`);
      continue;
    }
    for (const [name, want] of Object.entries(expected)) {
      if (!FUSE_NAMES.includes(name) || typeof want !== 'boolean') continue;
      const have = wire.fuses[name];
      if (have === undefined || have === 'removed') continue;
      if (have !== want) problems.push(`${name} is ${describe(have)}; electron-builder.yml wants it ${describe(want)}`);
    }
  }
  return problems;
}

function describe(state) {
  return state === true ? 'enabled' : state === false ? 'disabled' : String(state);
}

/** The files holding the fuse wire in each app packaged under `distDir` (win/linux *-unpacked, mac *.app). */
export async function findPackagedBinaries(distDir) {
  const found = [];
  const entries = existsSync(distDir) ? await readdir(distDir, { withFileTypes: true }) : [];
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const folder = path.join(distDir, entry.name);
    if (entry.name.endsWith('-unpacked')) {
      for (const file of await readdir(folder, { withFileTypes: true })) {
        if (!file.isFile() || !/^[^.]+$|\.exe$/i.test(file.name)) continue;
        const candidate = path.join(folder, file.name);
        // The app's executable is the big one; chrome-sandbox and friends are small.
        if ((await stat(candidate)).size > 20 * 1024 * 1024 && (await readFile(candidate)).includes(FUSE_SENTINEL)) found.push(candidate);
      }
    } else if (entry.name.startsWith('mac')) {
      for (const app of (await readdir(folder)).filter((name) => name.endsWith('.app'))) {
        const framework = path.join(folder, app, 'Contents', 'Frameworks', 'Electron Framework.framework', 'Electron Framework');
        if (existsSync(framework)) found.push(framework);
      }
    }
  }
  return found;
}

/** electron-builder.yml's electronFuses, as electron-builder itself loads the configuration. */
export async function configuredFuses(projectDir) {
  const { getConfig } = createRequire(path.join(projectDir, 'package.json'))('app-builder-lib/out/util/config/config');
  const config = await getConfig(projectDir, null, null);
  return config.electronFuses ?? {};
}

/** Checks every packaged app under `distDir`; resolves with { checked, problems } (problems: "file: sentence"). */
export async function verifyPackagedFuses(projectDir, distDir = path.join(projectDir, 'dist')) {
  const expected = await configuredFuses(projectDir);
  const binaries = await findPackagedBinaries(distDir);
  const problems = [];
  for (const binary of binaries) {
    for (const problem of fuseProblems(await readFile(binary), expected)) problems.push(`${path.relative(projectDir, binary)}: ${problem}`);
  }
  return { checked: binaries, problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const { checked, problems } = await verifyPackagedFuses(projectDir, process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  if (checked.length === 0) {
    process.stderr.write('verify-fuses: no packaged app found under dist/ (run npm run dist first).\n');
    process.exit(1);
  }
  for (const problem of problems) process.stderr.write(`verify-fuses: ${problem}\n`);
  if (problems.length > 0) process.exit(1);
  process.stdout.write(`verify-fuses: fuses as configured in ${checked.map((file) => path.relative(projectDir, file)).join(', ')}\n`);
}
