// `nst loss --grad-out` never writes over an input or good work (issue 13, class 1): checked before any work as
// stylize's -o is (not an input, also through a link; its folder exists; not a folder), and written by rename.

import { copyFileSync, linkSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpyFloat32 } from '../../src/engine/io/npy.js';
import { runNst } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const WEIGHTS = ['data', 'vgg19-imagenet-block1-3'] as const;
const CONTENT = ['data', 'images', 'content_tubingen_64.png'] as const;
const STYLE = ['data', 'images', 'style_starry_night_64.png'] as const;
const present = hasShared(...WEIGHTS) && hasShared(...CONTENT) && hasShared(...STYLE);

const LAYERS = ['--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2'];

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function workspace(): { dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-grad-out-'));
  made.push(dir);
  return { dir };
}

describe('nst loss --grad-out is checked before any work and never writes over an input', () => {
  const args = (image: string, gradOut: string, weights: string): string[] => ['loss', image, '--style', sharedPath(...STYLE), '--content', image, '--size', '32', '--weights', weights, '--device', 'cpu', ...LAYERS, '--grad-out', gradOut];

  it.skipIf(!present)('refuses an input (through a link), a folder and a missing folder before the images are read or the weights loaded', async () => {
    const { dir } = workspace();
    const content = path.join(dir, 'content.png');
    copyFileSync(sharedPath(...CONTENT), content);
    const before = readFileSync(content);
    symlinkSync(content, path.join(dir, 'link.npy'));
    // Weights that do not exist: a refusal about them (exit 4) would mean the output was checked after them.
    const noWeights = path.join(dir, 'no-weights.h5');
    const viaLink = await runNst(args(content, path.join(dir, 'link.npy'), noWeights));
    expect(viaLink.code, viaLink.stderr).toBe(2);
    expect(viaLink.stderr).toMatch(/^nst: --grad-out: .*link\.npy is also an input image .*nst never writes over its inputs/m);
    expect(readFileSync(content).equals(before)).toBe(true);
    const folder = await runNst(args(content, dir, noWeights));
    expect(folder.code, folder.stderr).toBe(2);
    expect(folder.stderr).toMatch(/^nst: --grad-out: .* is a folder; name a file inside it\.$/m);
    const missing = await runNst(args(content, path.join(dir, 'nowhere', 'g.npy'), noWeights));
    expect(missing.code, missing.stderr).toBe(3);
    expect(missing.stderr).toMatch(/^nst: --grad-out: cannot write .* the folder .*nowhere does not exist\.$/m);
  });

  it.skipIf(!present)('writes through a temp file and a rename: a file that was there is replaced whole, never overwritten in place', async () => {
    const { dir } = workspace();
    const gradOut = path.join(dir, 'g.npy');
    writeFileSync(gradOut, 'an earlier gradient');
    // A second name for the same bytes: an in-place write would change them, a rename leaves them be.
    linkSync(gradOut, path.join(dir, 'earlier.npy'));
    const result = await runNst(args(sharedPath(...CONTENT), gradOut, sharedPath(...WEIGHTS)));
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'earlier.npy'), 'utf8')).toBe('an earlier gradient');
    expect(decodeNpyFloat32(readFileSync(gradOut)).shape).toEqual([32, 32, 3]);
    expect(readdirSync(dir).sort()).toEqual(['earlier.npy', 'g.npy']);
  });
});
