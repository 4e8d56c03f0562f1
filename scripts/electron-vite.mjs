// `npm run dev` / `npm start`: electron-vite dev or preview, after checking that there is an Electron binary to
// run (without one, electron-vite fails with a bare "Electron uninstall").
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { findElectronBinary } from './electron-binary.mjs';

const [command = 'dev', ...rest] = process.argv.slice(2);
const electron = findElectronBinary();
if (!electron.path) {
  process.stderr.write(
    `${command}: cannot start the app: ${electron.reason}. Run \`npm install\` without ELECTRON_SKIP_BINARY_DOWNLOAD on a machine that can download Electron (the browser host, \`npm run serve\`, needs no Electron).\n`,
  );
  process.exit(1);
}
const cli = path.join('node_modules', 'electron-vite', 'bin', 'electron-vite.js');
const result = spawnSync(process.execPath, [cli, command, ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
