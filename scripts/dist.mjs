// `npm run dist`: builds the app and packages installers for this machine's platform with electron-builder,
// using the Electron binary npm installed. Where it cannot (no Electron binary, an older Node) it stops with one line for each reason.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { findElectronBinary } from './electron-binary.mjs';
import { NODE_FOR_PACKAGING, nodeTooOld } from './node-version.mjs';

// Every reason not to package, one line each, so a user fixes them in one go.
const problems = [];
const tooOld = nodeTooOld(process.versions.node, NODE_FOR_PACKAGING, 'Packaging installers (electron-builder)');
if (tooOld) problems.push(tooOld);
const electron = findElectronBinary();
if (!electron.path) {
  problems.push(
    `cannot package: ${electron.reason}. Run \`npm install\` without ELECTRON_SKIP_BINARY_DOWNLOAD on a machine that can download Electron, then \`npm run dist\` again.`,
  );
}
if (problems.length > 0) {
  for (const problem of problems) process.stderr.write(`dist: ${problem}\n`);
  process.exit(1);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

// typecheck, CLI and electron-vite build (out/main, out/preload, out/renderer).
run(npm, ['run', 'build']);
const builder = path.join('node_modules', 'electron-builder', 'cli.js');
// Extra arguments pass through (e.g. `npm run dist -- --linux deb`). electronDist: package the binary npm
// installed (host platform) instead of downloading a second copy.
const distDir = electron.distDir ? ['--config.electronDist=' + electron.distDir] : [];
run(process.execPath, [builder, '--publish', 'never', ...distDir, ...process.argv.slice(2)]);
// The fuses are flipped by electron-builder; read them back out of what it packaged, so a lost fuse fails here.
run(process.execPath, [path.join('scripts', 'verify-fuses.mjs')]);
