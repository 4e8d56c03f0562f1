// The Electron fuses in the packaged app: electron-builder flips them from electron-builder.yml, and
// scripts/verify-fuses.mjs (run by `npm run dist`) reads them back out of the packaged binary. Checked here on a
// synthetic binary flipped by electron-builder's own code, on the real Electron binary where it is installed, and on
// a packaged app where `npm run dist` has made one.

import { copyFile, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { FUSE_NAMES, FUSE_SENTINEL, configuredFuses, findPackagedBinaries, fuseProblems, readFuseWires, verifyPackagedFuses } from '../../scripts/verify-fuses.mjs';
import { findElectronBinary } from '../../scripts/electron-binary.mjs';

/** electron-builder's own path from electronFuses to a flipped binary: generateFuseConfig, then @electron/fuses. */
const builderRequire = createRequire(createRequire(path.join(REPO_ROOT, 'package.json')).resolve('app-builder-lib/package.json'));
const { PlatformPackager } = createRequire(path.join(REPO_ROOT, 'package.json'))('app-builder-lib') as {
  PlatformPackager: { prototype: { generateFuseConfig(fuses: Record<string, unknown>): Promise<Record<string, unknown>> } };
};
const { flipFuses } = builderRequire('@electron/fuses') as { flipFuses(file: string, config: Record<string, unknown>): Promise<number> };

async function flipAsElectronBuilderDoes(file: string): Promise<void> {
  const config = await PlatformPackager.prototype.generateFuseConfig.call({}, await configuredFuses(REPO_ROOT));
  await flipFuses(file, config);
}

/** Electron's defaults (as shipped): RunAsNode, NODE_OPTIONS, --inspect and file:// privileges on; the rest off. */
const STOCK_WIRE = '10110001';

function fakeBinary(wire = STOCK_WIRE, copies = 1): Buffer {
  const junk = Buffer.alloc(4096, 0x90);
  const parts: Buffer[] = [junk];
  for (let i = 0; i < copies; i++) parts.push(FUSE_SENTINEL, Buffer.from([1, wire.length]), Buffer.from(wire, 'latin1'), junk);
  return Buffer.concat(parts);
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-fuses-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('electron-builder.yml asks for the hardening fuses', () => {
  it('RunAsNode, NODE_OPTIONS and --inspect off; cookie encryption, asar integrity and asar-only on', async () => {
    expect(await configuredFuses(REPO_ROOT)).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });
});

describe('verify-fuses on a binary flipped the way electron-builder flips it', () => {
  it('reads the fuse wire by name', () => {
    expect(readFuseWires(fakeBinary())).toEqual([
      { version: 1, length: 8, fuses: Object.fromEntries(FUSE_NAMES.map((name, i) => [name, STOCK_WIRE[i] === '1'])) },
    ]);
    expect(() => readFuseWires(Buffer.alloc(1024))).toThrow(/no Electron fuse wire/);
  });

  it('finds every configured fuse wrong in a stock Electron binary', async () => {
    const problems = fuseProblems(fakeBinary(), await configuredFuses(REPO_ROOT));
    expect(problems).toEqual(
      expect.arrayContaining([
        'runAsNode is enabled; electron-builder.yml wants it disabled',
        'enableCookieEncryption is disabled; electron-builder.yml wants it enabled',
        'enableEmbeddedAsarIntegrityValidation is disabled; electron-builder.yml wants it enabled',
      ]),
    );
  });

  it('finds nothing wrong once electron-builder has flipped the fuses from electron-builder.yml', async () => {
    const file = path.join(dir, 'flipped');
    await writeFile(file, fakeBinary());
    await flipAsElectronBuilderDoes(file);
    expect(fuseProblems(await readFile(file), await configuredFuses(REPO_ROOT))).toEqual([]);
    expect(readFuseWires(await readFile(file))[0]!.fuses).toMatchObject({ runAsNode: false, enableCookieEncryption: true, enableEmbeddedAsarIntegrityValidation: true });
  });

  it('checks both slices of a universal macOS binary', async () => {
    const flippedOnce = fakeBinary(STOCK_WIRE, 2);
    // Flip only the first wire by hand, as a broken packaging step might.
    const first = flippedOnce.indexOf(FUSE_SENTINEL) + FUSE_SENTINEL.length + 2;
    flippedOnce.write('01000110', first, 'latin1');
    const problems = fuseProblems(flippedOnce, await configuredFuses(REPO_ROOT));
    expect(problems).toContain('runAsNode is enabled; electron-builder.yml wants it disabled');
  });

  it('skips fuses this Electron has removed ("where supported")', async () => {
    const removed = fakeBinary('0r000110');
    expect(fuseProblems(removed, { runAsNode: false, enableCookieEncryption: true })).toEqual([]);
  });

  it('finds the packaged executables: Linux/Windows *-unpacked, macOS *.app frameworks', async () => {
    const dist = path.join(dir, 'dist');
    await mkdir(path.join(dist, 'linux-unpacked'), { recursive: true });
    const linux = path.join(dist, 'linux-unpacked', 'neural-style-studio');
    await writeFile(linux, fakeBinary());
    await truncate(linux, 21 * 1024 * 1024); // the executable is the big file; a small one beside it is not it
    await writeFile(path.join(dist, 'linux-unpacked', 'chrome-sandbox'), fakeBinary());
    const framework = path.join(dist, 'mac-arm64', 'Neural Style Studio.app', 'Contents', 'Frameworks', 'Electron Framework.framework', 'Electron Framework');
    await mkdir(path.dirname(framework), { recursive: true });
    await writeFile(framework, fakeBinary());
    expect((await findPackagedBinaries(dist)).sort()).toEqual([linux, framework].sort());
    const { problems } = await verifyPackagedFuses(REPO_ROOT, dist);
    expect(problems.some((p) => p.includes('linux-unpacked') && p.includes('runAsNode is enabled'))).toBe(true);
    expect(problems.some((p) => p.includes('Electron Framework') && p.includes('runAsNode is enabled'))).toBe(true);
  });
});

describe('on real binaries, where present', () => {
  const electron = findElectronBinary(REPO_ROOT);

  it.skipIf(electron.path === null)(`the installed Electron binary: stock fuses refused, flipped fuses accepted${electron.path === null ? ` (skipped: ${electron.reason})` : ''}`, async () => {
    const copy = path.join(dir, 'electron-copy');
    if (electron.path === null) return;
    await copyFile(electron.path, copy);
    expect(fuseProblems(await readFile(copy), await configuredFuses(REPO_ROOT)).length).toBeGreaterThan(0);
    await flipAsElectronBuilderDoes(copy);
    expect(fuseProblems(await readFile(copy), await configuredFuses(REPO_ROOT))).toEqual([]);
  });

  const dist = path.join(REPO_ROOT, 'dist');
  it('the app `npm run dist` packaged (skipped when dist/ holds none)', async () => {
    const { checked, problems } = await verifyPackagedFuses(REPO_ROOT, dist);
    if (checked.length === 0) return;
    expect(problems).toEqual([]);
  });
});
