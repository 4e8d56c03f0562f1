// `npm run serve`: builds what is missing or stale (the renderer, the host bundle), then starts the host.
// Arguments after `--` go to the host (see src/server/index.ts: --port, --host, --weights …).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

/** Newest modification time of any file under these folders (0 when none). */
function newest(...folders) {
  let latest = 0;
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else latest = Math.max(latest, statSync(full).mtimeMs);
    }
  };
  for (const folder of folders) walk(folder);
  return latest;
}

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) {
    process.stderr.write(`serve: \`${command} ${args.join(' ')}\` failed.\n`);
    process.exit(result.status ?? 1);
  }
}

const rendererIndex = path.join('out', 'renderer', 'index.html');
if (mtime(rendererIndex) < newest('src/renderer', 'src/shared')) {
  process.stderr.write('serve: building the renderer (electron-vite build)…\n');
  run(process.execPath, [path.join('node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build']);
}
const serverBundle = path.join('out', 'server', 'serve.js');
const workerBundle = path.join('out', 'server', 'job-worker.js');
if (Math.min(mtime(serverBundle), mtime(workerBundle)) < newest('src/server', 'src/main/services', 'src/main/worker', 'src/shared', 'src/engine')) {
  process.stderr.write('serve: building the host (scripts/build-node.mjs)…\n');
  run(process.execPath, [path.join('scripts', 'build-node.mjs')]);
}

const child = spawn(process.execPath, [serverBundle, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
