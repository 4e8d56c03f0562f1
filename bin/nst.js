#!/usr/bin/env node
// The installed `nst` command: runs the bundled CLI (npm run build:cli makes out/cli/nst.js).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundle = fileURLToPath(new URL('../out/cli/nst.js', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('nst: the CLI is not built yet: run `npm run build:cli` in the project folder.\n');
  process.exit(1);
}
const { main } = await import(pathToFileURL(bundle).href);
process.exitCode = await main(process.argv.slice(2));
