// A fresh install paints: with no NST_WEIGHTS and an empty data folder, the README's main command writes a painted
// image on the built-in weights and examples (at a small size here, to keep the suite quick).

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNst } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/shared-data.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-fresh-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The README's run command (`npm run nst -- stylize …`), as arguments after `nst`. */
async function readmeCommand(): Promise<string[]> {
  const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('npm run nst -- stylize '));
  if (!line) throw new Error('README.md has no `npm run nst -- stylize …` line');
  return line.slice('npm run nst -- '.length).trim().split(/\s+/);
}

describe('a fresh install', () => {
  it('paints with the README\'s command: no weights given or installed, the built-in ones are used', { timeout: 180_000 }, async () => {
    const args = await readmeCommand();
    expect(args.join(' '), 'the README command needs nothing but the checkout').not.toMatch(/--weights|PATH_TO/);
    const output = path.join(dir, 'painted.png');
    const outputAt = args.indexOf('-o') + 1;
    expect(outputAt).toBeGreaterThan(0);
    args[outputAt] = output;
    // Smaller and shorter than the README's run, which takes minutes; everything else as written.
    const result = await runNst([...args, '--size', '64', '--iterations', '4', '--checkpoint-every', '0'], {
      env: { NST_WEIGHTS: undefined, NST_DATA_DIR: path.join(dir, 'empty-data') },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/nst: wrote .*painted\.png \(64x30, 4 iterations, loss ([\d.e+-]+) → ([\d.e+-]+)/);
    const [, before, after] = /loss ([\d.e+-]+) → ([\d.e+-]+)/.exec(result.stderr)!;
    expect(Number(after)).toBeLessThan(Number(before));
    const meta = await sharp(output).metadata();
    expect([meta.width, meta.height]).toEqual([64, 30]);
  });
});
