// Hostile inputs to `nst`, as one table: bombs, broken and disguised images, pipes, outputs that would overwrite an
// input or land nowhere, absurd numbers, poisoned or foreign weights. Each ends with its documented exit code and one
// `nst: ` line naming the fault, quickly, and leaves no output file (or temporary file) behind.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The documented numbers (docs/cli.md), not the code's own table: a changed exit code must fail here.
import { DOCUMENTED_EXIT_CODES as EXIT_CODES } from '../helpers/exit-codes.js';
import { noiseImage } from '../../src/engine/io/image.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { runNst, type CliResult } from '../helpers/cli.js';
import { jpegBomb, pngBomb, truncated } from '../helpers/hostile-files.js';
import { poisoned, resnetH5, tfjsFolder, vgg16Like } from '../helpers/hostile-weights.js';
import { writeKerasH5 } from '../helpers/keras-h5-writer.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const UINT8 = sharedPath('data', 'vgg19-imagenet-uint8');
const haveWeights = hasShared('data', 'vgg19-imagenet-uint8');

/** Paths of everything the table uses, made in beforeAll under a folder with spaces and unicode. */
const f = {
  dir: '',
  out: '',
  content: '',
  style: '',
  /** Its name has spaces, accents, CJK and an emoji. */
  unicodeContent: '',
  pngBomb: '',
  jpegBomb: '',
  halfJpeg: '',
  halfWebp: '',
  pdf: '',
  fifo: '',
  sliver: '',
  /** A GIF used as a style image (and then, wrongly, as the --video output). */
  styleGif: '',
  outputFolder: '',
  hardLinkToStyle: '',
  symlinkToContent: '',
  nanWeights: '',
  infWeights: '',
  resnet: '',
  escapingWeights: '',
  vgg16: '',
  /** NST_DATA_DIR for `nst weights import`: nothing may be installed there. */
  dataDir: '',
};

async function png(width: number, height: number, seed: number): Promise<Buffer> {
  const image = noiseImage(width, height, seed);
  const hwc = Buffer.alloc(width * height * 3);
  for (let c = 0; c < 3; c++) for (let p = 0; p < width * height; p++) hwc[p * 3 + c] = Math.round(image.data[c * width * height + p]!);
  return sharp(hwc, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nst cli hostile ü 画 '));
  const at = (name: string): string => path.join(dir, name);
  Object.assign(f, {
    dir,
    out: at('out folder/painted result.png'),
    content: at('content.png'),
    style: at('style.png'),
    unicodeContent: at('Mes images 🎨/été 写真 1.png'),
    pngBomb: at('bomb.png'),
    jpegBomb: at('bomb.jpg'),
    halfJpeg: at('half photo.jpg'),
    halfWebp: at('half.webp'),
    pdf: at('scan.png'),
    fifo: at('pipe.png'),
    sliver: at('panorama sliver.png'),
    styleGif: at('style anim.gif'),
    outputFolder: at('a folder.png'),
    hardLinkToStyle: at('out folder/style again.png'),
    symlinkToContent: at('out folder/content link.png'),
  });
  await mkdir(path.dirname(f.out), { recursive: true });
  await mkdir(path.dirname(f.unicodeContent), { recursive: true });
  await mkdir(f.outputFolder);
  await writeFile(f.content, await png(64, 64, 1));
  await writeFile(f.style, await png(64, 64, 2));
  await writeFile(f.unicodeContent, await png(64, 48, 3));
  await writeFile(f.pngBomb, pngBomb(50_000, 50_000));
  await writeFile(f.jpegBomb, await jpegBomb(65_000, 65_000));
  await writeFile(f.halfJpeg, truncated(await sharp(await png(64, 64, 4)).jpeg().toBuffer(), 0.5));
  await writeFile(f.halfWebp, truncated(await sharp(await png(64, 64, 5)).webp().toBuffer(), 0.5));
  await writeFile(f.pdf, '%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n');
  await writeFile(f.sliver, await png(2000, 20, 6)); // 384 x 4 at the default size
  await writeFile(f.styleGif, await sharp(await png(32, 32, 7)).gif().toBuffer());
  await link(f.style, f.hardLinkToStyle);
  await symlink(f.content, f.symlinkToContent);
  if (process.platform !== 'win32') execFileSync('mkfifo', [f.fifo]);
  f.nanWeights = await tfjsFolder(dir, 'weights nan', poisoned('block1_conv2', 'kernel', Number.NaN));
  f.infWeights = await tfjsFolder(dir, 'weights inf', poisoned('block1_conv1', 'bias', Number.POSITIVE_INFINITY));
  f.resnet = await resnetH5(dir, 'resnet50.h5');
  await writeFile(path.join(dir, 'secret.bin'), Buffer.alloc(64 * 27 * 4 + 256));
  f.escapingWeights = await tfjsFolder(dir, 'weights escape', randomVgg19Weights({ seed: 1, depth: 1 }), { 1: ['../secret.bin'] });
  f.vgg16 = await writeKerasH5(path.join(dir, 'vgg16 weights.h5'), vgg16Like());
  f.dataDir = path.join(dir, 'data dir');
});

afterAll(async () => {
  if (f.dir) await rm(f.dir, { recursive: true, force: true });
});

interface Run {
  content?: string;
  styles?: string[];
  output?: string;
  weights?: string;
  options?: string[];
}

/** A `stylize` that would succeed (64 px, one iteration, CPU) but for the one thing a row changes. */
function stylize(run: Run = {}): string[] {
  return [
    'stylize',
    run.content ?? f.content,
    ...(run.styles ?? [f.style]),
    '-o',
    run.output ?? f.out,
    '--weights',
    run.weights ?? UINT8,
    '--size',
    '64',
    '--iterations',
    '1',
    '--device',
    'cpu',
    ...(run.options ?? []),
  ];
}

interface Row {
  name: string;
  args: () => string[];
  code: number;
  /** Fragments the one line must contain (the file, option or value at fault, and what is wrong). */
  says: () => (string | RegExp)[];
  env?: () => NodeJS.ProcessEnv;
  /** Needs the shared weights to get as far as the fault (it lies past the weight loading). */
  needsWeights?: boolean;
  posixOnly?: boolean;
}

const { BAD_ARGUMENT, FILE_NOT_FOUND, NOT_AN_IMAGE, IMAGE_TOO_LARGE, IMAGE_TOO_SMALL, BAD_WEIGHTS, UNKNOWN_LAYER, WEIGHTS_NOT_FOUND } = EXIT_CODES;
const dataEnv = (): NodeJS.ProcessEnv => ({ NST_DATA_DIR: f.dataDir });

export const CLI_ROWS: readonly Row[] = [
  // Images: exit 3, before any weights are read.
  { name: 'a 50,000 x 50,000 PNG bomb as content', args: () => stylize({ content: f.pngBomb }), code: IMAGE_TOO_LARGE, says: () => [f.pngBomb, 'is 50000x50000', 'pixels allowed'] },
  { name: 'a 65,000 x 65,000 JPEG bomb as a style', args: () => stylize({ styles: [f.style, f.jpegBomb] }), code: IMAGE_TOO_LARGE, says: () => [f.jpegBomb, 'is 65000x65000'] },
  { name: 'a JPEG cut in half', args: () => stylize({ content: f.halfJpeg }), code: NOT_AN_IMAGE, says: () => [f.halfJpeg, 'is not an image that can be decoded'] },
  { name: 'a WebP cut in half', args: () => stylize({ styles: [f.halfWebp] }), code: NOT_AN_IMAGE, says: () => [f.halfWebp, 'is not an image that can be decoded'] },
  { name: 'a PDF named .png', args: () => stylize({ content: f.pdf }), code: NOT_AN_IMAGE, says: () => [f.pdf, 'unsupported image format'] },
  { name: 'a named pipe as content (no hang)', args: () => stylize({ content: f.fifo }), code: NOT_AN_IMAGE, says: () => [f.fifo, 'is not a regular file'], posixOnly: true },
  { name: 'a missing content file under a unicode path', args: () => stylize({ content: path.join(f.dir, 'nicht da', 'Фото 1.jpg') }), code: FILE_NOT_FOUND, says: () => ['No file at', 'Фото 1.jpg'] },

  // Where the output goes: checked before any work.
  { name: '-o the content image itself', args: () => stylize({ output: f.content }), code: BAD_ARGUMENT, says: () => ['-o/--output', f.content, 'is also an input image', 'never writes over its inputs'] },
  { name: '-o a hard link to a style image', args: () => stylize({ output: f.hardLinkToStyle }), code: BAD_ARGUMENT, says: () => [f.hardLinkToStyle, 'is also an input image', f.style], posixOnly: true },
  { name: '-o a symbolic link to the content image', args: () => stylize({ output: f.symlinkToContent }), code: BAD_ARGUMENT, says: () => [f.symlinkToContent, 'is also an input image'], posixOnly: true },
  { name: '-o inside a folder that does not exist', args: () => stylize({ output: path.join(f.dir, 'no such folder', 'out.png') }), code: FILE_NOT_FOUND, says: () => ['-o/--output', 'no such folder', 'does not exist'] },
  { name: '--video naming a style GIF', args: () => stylize({ styles: [f.styleGif], options: ['--video', f.styleGif] }), code: BAD_ARGUMENT, says: () => ['--video', f.styleGif, 'is also an input image'] },
  { name: '-o naming an existing folder', args: () => stylize({ output: f.outputFolder }), code: BAD_ARGUMENT, says: () => [f.outputFolder, 'is a folder'] },

  // Absurd numbers and names: exit 2.
  { name: '--size 1000000', args: () => stylize({ options: ['--size', '1000000'] }), code: BAD_ARGUMENT, says: () => ['--size', '1000000', '16 to 16384'] },
  { name: '--size NaN', args: () => stylize({ options: ['--size', 'NaN'] }), code: BAD_ARGUMENT, says: () => ['--size', '"NaN" is not a number'] },
  { name: '--iterations 1e12', args: () => stylize({ options: ['--iterations', '1e12'] }), code: BAD_ARGUMENT, says: () => ['--iterations', '1e12', 'out of range'] },
  { name: '--style-weight Infinity', args: () => stylize({ options: ['--style-weight', 'Infinity'] }), code: BAD_ARGUMENT, says: () => ['--style-weight', 'Infinity', 'not a number'] },
  { name: '--tv-weight NaN', args: () => stylize({ options: ['--tv-weight', 'NaN'] }), code: BAD_ARGUMENT, says: () => ['--tv-weight', 'NaN'] },
  { name: 'a negative layer weight', args: () => stylize({ options: ['--layer-weights', 'conv1_1=-1'] }), code: BAD_ARGUMENT, says: () => ['--layer-weights', '-1', 'out of range'] },
  { name: 'an unknown content layer alias', args: () => stylize({ options: ['--content-layers', 'relu9_9'] }), code: UNKNOWN_LAYER, says: () => ['--content-layers', 'relu9_9'] },
  { name: '--style-scale 0', args: () => stylize({ options: ['--style-scale', '0'] }), code: BAD_ARGUMENT, says: () => ['--style-scale', '0'] },

  // Weights: exit 4.
  { name: 'weights with a NaN kernel value', args: () => stylize({ weights: f.nanWeights, options: ['--style-layers', 'block1_conv1', '--content-layers', 'block1_conv2'] }), code: BAD_WEIGHTS, says: () => ['block1_conv2', 'non-finite kernel value (NaN'] },
  { name: 'weights with an infinite bias', args: () => stylize({ weights: f.infWeights, options: ['--style-layers', 'block1_conv1', '--content-layers', 'block1_conv2'] }), code: BAD_WEIGHTS, says: () => ['block1_conv1', 'non-finite bias value (Infinity'] },
  { name: 'ResNet weights', args: () => stylize({ weights: f.resnet }), code: BAD_WEIGHTS, says: () => [f.resnet, 'no VGG19 layer groups'] },
  { name: 'a TF.js manifest whose shard climbs out of its folder', args: () => stylize({ weights: f.escapingWeights }), code: BAD_WEIGHTS, says: () => ['"../secret.bin" outside its own folder'] },

  // `nst weights import`: refused, and nothing installed.
  { name: 'importing ResNet weights', args: () => ['weights', 'import', f.resnet], env: dataEnv, code: BAD_WEIGHTS, says: () => ['Not imported', 'no VGG19 layer groups'] },
  { name: 'importing VGG16 weights', args: () => ['weights', 'import', f.vgg16], env: dataEnv, code: BAD_WEIGHTS, says: () => ['Not imported', 'vgg16 weights.h5', 'lacks block3_conv4'] },
  { name: 'importing weights with a NaN', args: () => ['weights', 'import', f.nanWeights], env: dataEnv, code: BAD_WEIGHTS, says: () => ['Not imported', 'non-finite kernel value (NaN'] },
  { name: 'importing a manifest that reaches outside its folder', args: () => ['weights', 'import', f.escapingWeights], env: dataEnv, code: BAD_WEIGHTS, says: () => ['Not imported', 'outside its own folder'] },
  { name: 'importing from a unicode path that does not exist', args: () => ['weights', 'import', path.join(f.dir, 'nirgends ü', 'vgg19.h5')], env: dataEnv, code: WEIGHTS_NOT_FOUND, says: () => ['nirgends ü'] },

  // Past the weights: an image too thin for the layers.
  { name: 'a 2000 x 20 panorama at --size 384 (384 x 4)', args: () => stylize({ content: f.sliver, options: ['--size', '384', '--scales', 'off', '--tile', 'off'] }), code: IMAGE_TOO_SMALL, says: () => ['384x4 px', 'block5_conv1', 'at least 16 px'], needsWeights: true },
];

function expectOneLine(result: CliResult, code: number, says: readonly (string | RegExp)[]): void {
  expect(result.code, `exit code; stderr was:\n${result.stderr}`).toBe(code);
  expect(result.stderr).toMatch(/^nst: [^\n]+\n$/);
  expect(result.stdout).toBe('');
  for (const fragment of says) {
    if (typeof fragment === 'string') expect(result.stderr).toContain(fragment);
    else expect(result.stderr).toMatch(fragment);
  }
}

/** Files under the output folder other than those the table made there: a failed run must leave none. */
async function leftovers(): Promise<string[]> {
  const made = new Set([path.basename(f.hardLinkToStyle), path.basename(f.symlinkToContent)]);
  return (await readdir(path.dirname(f.out))).filter((name) => !made.has(name));
}

describe('hostile inputs to nst: one line, the documented exit code, nothing written', () => {
  for (const row of CLI_ROWS) {
    const skip = (row.needsWeights && !haveWeights) || (row.posixOnly && process.platform === 'win32');
    it.skipIf(skip)(`${row.name} → exit ${row.code}${row.needsWeights && !haveWeights ? ' (skipped: ../shared/data/vgg19-imagenet-uint8 absent)' : ''}`, async () => {
      const started = performance.now();
      const result = await runNst(row.args(), row.env ? { env: row.env() } : {});
      expectOneLine(result, row.code, row.says());
      // Refused up front: no run, no minutes of work before the error.
      expect(performance.now() - started).toBeLessThan(row.needsWeights ? 60_000 : 20_000);
      expect(existsSync(f.out), 'a failed run leaves no output image').toBe(false);
      expect(await leftovers(), 'nor a temporary file').toEqual([]);
      expect(existsSync(path.join(f.dataDir, 'weights', 'vgg19.json')), 'nor installed weights').toBe(false);
    }, 90_000);
  }

  it('has at least 20 rows', () => {
    expect(CLI_ROWS.length).toBeGreaterThanOrEqual(20);
  });
});

describe('paths with spaces and unicode work end to end', () => {
  it.skipIf(!haveWeights)(`stylize reads and writes them${haveWeights ? '' : ' (skipped: ../shared/data/vgg19-imagenet-uint8 absent)'}`, async () => {
    const output = path.join(path.dirname(f.unicodeContent), 'gemalt 画 ✓.png');
    const result = await runNst(stylize({ content: f.unicodeContent, output, options: ['--optimizer', 'adam'] }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(output);
    const metadata = await sharp(output).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(['png', 64, 48]);
    expect((await readdir(path.dirname(output))).sort()).toEqual(['gemalt 画 ✓.png', 'été 写真 1.png']);
  }, 120_000);
});
