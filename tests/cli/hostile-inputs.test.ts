// Hostile inputs to `nst`, as one table: bombs, broken and disguised images, pipes, outputs that would overwrite an
// input or land nowhere, absurd numbers, poisoned or foreign weights. Each ends with its documented exit code and one
// `nst: ` line naming the fault, quickly, and leaves no output file (or temporary file) behind.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The documented numbers (docs/cli.md), not the code's own table: a changed exit code must fail here.
import { DOCUMENTED_EXIT_CODES as EXIT_CODES } from '../helpers/exit-codes.js';
import { noiseImage } from '../../src/engine/io/image.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { jsonLines, runNst, type CliResult } from '../helpers/cli.js';
import { printable } from '../../src/shared/printable.js';
import { findOnPath } from '../../src/engine/video/ffmpeg.js';
import { storePaths, writeConvertedWeights } from '../../src/engine/weights/store.js';
import { corruptScan, jpegBomb, pngBomb, truncated } from '../helpers/hostile-files.js';
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
  /** Issue 13: a JPEG whose scan data is corrupt (class 4). */
  corruptJpeg: '',
  /** A text file whose name holds an OSC title sequence, a clear-screen sequence and a newline (class 7). */
  escapeName: '',
  /** Weights with one kernel value of 3.4e30, a flipped exponent bit (class 8). */
  bitFlipWeights: '',
  /** Numbered frames of two shapes (class 9). */
  mixedFrames: '',
  /** A folder of content photos (class 10: batch -o the same folder). */
  photos: '',
  /** A stand-in ffmpeg that answers -version and is never asked to encode. */
  fakeFfmpeg: '',
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
  f.corruptJpeg = at('rotted photo.jpg');
  await writeFile(f.corruptJpeg, corruptScan(await sharp(await png(64, 64, 8)).jpeg({ quality: 90 }).toBuffer()));
  f.escapeName = at('evil \x1b]0;pwned\x07\x1b[2J\nsecond line.png');
  await writeFile(f.escapeName, 'not an image\n');
  f.bitFlipWeights = await tfjsFolder(dir, 'weights bit flip', poisoned('block1_conv2', 'kernel', 3.4e30));
  f.mixedFrames = at('mixed frames');
  await mkdir(f.mixedFrames);
  await writeFile(path.join(f.mixedFrames, 'frame_000001.png'), await png(32, 32, 9));
  await writeFile(path.join(f.mixedFrames, 'frame_000002.png'), await png(32, 16, 10));
  f.photos = at('photos');
  await mkdir(f.photos);
  await writeFile(path.join(f.photos, 'a.png'), await png(32, 32, 11));
  f.fakeFfmpeg = at('fake ffmpeg');
  await writeFile(f.fakeFfmpeg, '#!/bin/sh\necho "ffmpeg version 9.9"\n', { mode: 0o755 });
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
  /** Fragments it must not contain (a promise it cannot keep). */
  never?: string[];
  env?: () => NodeJS.ProcessEnv;
  /** Needs the shared weights to get as far as the fault (it lies past the weight loading). */
  needsWeights?: boolean;
  posixOnly?: boolean;
}

const { BAD_ARGUMENT, FILE_NOT_FOUND, NOT_AN_IMAGE, IMAGE_TOO_LARGE, IMAGE_TOO_SMALL, BAD_WEIGHTS, UNKNOWN_LAYER, WEIGHTS_NOT_FOUND, DOWNLOAD_FAILED } = EXIT_CODES;
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

  // Issue 13, class 4: damage the decoder only warns about is refused, not painted.
  { name: 'a JPEG with corrupt scan data as content', args: () => stylize({ content: f.corruptJpeg }), code: NOT_AN_IMAGE, says: () => [f.corruptJpeg, 'is not an image that can be decoded', 'Corrupt JPEG data'] },
  { name: 'a JPEG with corrupt scan data as a style', args: () => stylize({ styles: [f.corruptJpeg] }), code: NOT_AN_IMAGE, says: () => [f.corruptJpeg, 'Corrupt JPEG data'] },

  // Issue 13, class 7: untrusted text reaches the terminal escaped, on one line.
  { name: 'a content file named with escape sequences and a newline', args: () => stylize({ content: f.escapeName }), code: NOT_AN_IMAGE, says: () => ['evil \\u001b]0;pwned\\u0007\\u001b[2J\\u000asecond line.png', 'unsupported image format'] },
  { name: 'an unknown option holding an escape sequence', args: () => stylize({ options: ['--\x1b[2Jwipe'] }), code: BAD_ARGUMENT, says: () => ['\\u001b[2Jwipe'] },

  // Issue 13, class 8: absurd magnitudes refused up front, naming what is absurd.
  { name: '--style-weight 1e308', args: () => stylize({ options: ['--style-weight', '1e308'] }), code: BAD_ARGUMENT, says: () => ['--style-weight', '1e308', 'from 0 to 1e10'] },
  { name: '--layer-weights conv1_1=1e11', args: () => stylize({ options: ['--layer-weights', 'conv1_1=1e11'] }), code: BAD_ARGUMENT, says: () => ['--layer-weights', '1e11', 'from 0 to 1e10'] },
  { name: 'weights with a kernel value of 3.4e30 (a flipped bit)', args: () => stylize({ weights: f.bitFlipWeights, options: ['--style-layers', 'block1_conv1', '--content-layers', 'block1_conv2'] }), code: BAD_WEIGHTS, says: () => ['block1_conv2', 'kernel value of 3.400e+30', 'damaged'] },

  // Issue 13, class 9: what would be ignored or stretched is refused.
  { name: '--layer-weights for a layer not in --style-layers', args: () => stylize({ options: ['--style-layers', 'block1_conv1', '--layer-weights', 'block2_conv1=2'] }), code: BAD_ARGUMENT, says: () => ['--layer-weights', 'block2_conv1 is not a style layer', '--style-layers is block1_conv1'] },
  { name: 'nst video of frames of two shapes', args: () => ['video', f.mixedFrames, '-o', path.join(path.dirname(f.out), 'mixed.mp4'), '--ffmpeg', f.fakeFfmpeg], code: BAD_ARGUMENT, says: () => ['frame_000002.png is 32x16', 'first frame', '(32x32)', 'stretch'] },

  // Issue 13, class 10: inputs taken for what they are.
  { name: 'batch -o the --content folder', args: () => ['batch', '--content', f.photos, '--style', f.style, '-o', f.photos, '--weights', UINT8], code: BAD_ARGUMENT, says: () => [f.photos, 'both a content folder and the output folder'], never: ['No content images found'] },
  { name: 'weights fetch --url ftp://…', args: () => ['weights', 'fetch', '--url', 'ftp://example.com/vgg19.h5'], env: dataEnv, code: BAD_ARGUMENT, says: () => ['ftp://example.com/vgg19.h5', 'not ftp'], never: ['partial', 'resume'] },
  { name: 'weights fetch --url of a file that does not exist', args: () => ['weights', 'fetch', '--url', path.join(f.dir, 'nirgends.h5')], env: dataEnv, code: DOWNLOAD_FAILED, says: () => ['nirgends.h5 is not a file'], never: ['partial', 'resume'] },
];

function expectOneLine(result: CliResult, code: number, says: readonly (string | RegExp)[], never: readonly string[] = []): void {
  expect(result.code, `exit code; stderr was:\n${result.stderr}`).toBe(code);
  expect(result.stderr).toMatch(/^nst: [^\n]+\n$/);
  expect(result.stderr.slice(0, -1), 'no control character reaches the terminal').not.toMatch(/[\p{Cc}]/u);
  for (const fragment of never) expect(result.stderr).not.toContain(fragment);
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
      expectOneLine(result, row.code, row.says(), row.never);
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

// --- issue 13 --------------------------------------------------------------------------------------------------

/** stderr as lines; each must be one `nst: ` line with no control character in it. */
function expectNstLines(stderr: string): string[] {
  const lines = stderr.split('\n').slice(0, -1);
  for (const line of lines) {
    expect(line).toMatch(/^nst: /);
    expect(line, 'no control character reaches the terminal').not.toMatch(/[\p{Cc}]/u);
  }
  return lines;
}

describe('class 7: names with control characters are escaped wherever they are printed', () => {
  it('printable escapes C0, DEL, C1, line separators and bidirectional overrides, and nothing else', () => {
    expect(printable('a\x1b[2J\nb\x7f\x9b\u2028\u202e✓ é 画 🎨')).toBe('a\\u001b[2J\\u000ab\\u007f\\u009b\\u2028\\u202e✓ é 画 🎨');
  });

  it.skipIf(!haveWeights)(`batch reports an item with such a name on escaped nst: lines, and as plain JSON${haveWeights ? '' : ' (skipped: ../shared/data/vgg19-imagenet-uint8 absent)'}`, async () => {
    const content = path.join(f.dir, 'hostile batch');
    await mkdir(content, { recursive: true });
    const name = 'bad \x1b]2;title\x07\x1b[2J\nname.png';
    await writeFile(path.join(content, name), 'not an image\n');
    const args = ['batch', '--content', content, '--style', f.style, '-o', path.join(f.dir, 'hostile batch out'), '--weights', UINT8, '--size', '64', '--iterations', '1', '--device', 'cpu'];
    const text = await runNst(args);
    expect(text.code, text.stderr).toBe(EXIT_CODES.BATCH_ITEMS_FAILED);
    const lines = expectNstLines(text.stderr);
    expect(lines.filter((line) => line.includes('bad \\u001b]2;title\\u0007\\u001b[2J\\u000aname.png')).length).toBeGreaterThanOrEqual(2);
    const json = await runNst([...args, '--json', '--force']);
    expect(json.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(jsonLines(json.stdout).some((line) => line.name === name && line.status === 'failed')).toBe(true);
  }, 120_000);
});

describe('class 8: weights status checks what stylize checks', () => {
  it('a truncated installed blob is DAMAGED in status (text and JSON), in the words stylize refuses it with', async () => {
    const root = path.join(f.dir, 'damaged data dir');
    const provenance = { kind: 'import', source: 'a test', format: 'tfjs', files: [], date: '2026-12-07T00:00:00.000Z' } as const;
    await writeConvertedWeights(randomVgg19Weights({ seed: 3, depth: 2 }), provenance, root);
    const { blob } = storePaths(root);
    const bytes = (await stat(blob)).size;
    await truncate(blob, bytes - 4096);
    const damage = `holds ${bytes - 4096} bytes, not the ${bytes} it lists`;
    const env = { NST_DATA_DIR: root };

    const status = await runNst(['weights', 'status'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`Installed: DAMAGED, runs refuse them: its blob ${blob} ${damage}`);
    const json = jsonLines((await runNst(['weights', 'status', '--json'], { env })).stdout)[0]!;
    expect(json.damaged).toBe(`its blob ${blob} ${damage}`);

    const run = await runNst(['stylize', f.content, f.style, '-o', f.out, '--size', '64', '--iterations', '1', '--device', 'cpu', '--style-layers', 'block1_conv1', '--content-layers', 'block1_conv2'], { env });
    expect(run.code, run.stderr).toBe(EXIT_CODES.BAD_WEIGHTS);
    expect(run.stderr).toContain(damage);
  }, 60_000);
});

describe('class 9: a tile overlap that is cut is said', () => {
  const tiled = (options: string[]): string[] => stylize({ options: ['--size', '128', '--tile', '64', '--scales', 'off', '--style-layers', 'block1_conv1', '--content-layers', 'block1_conv2', ...options] });
  it.skipIf(!haveWeights)(`--tile-overlap 32 with 64-px tiles: one nst: line says they overlap by 16 px; no line without --tile-overlap${haveWeights ? '' : ' (skipped: ../shared/data/vgg19-imagenet-uint8 absent)'}`, async () => {
    const asked = await runNst(tiled(['--tile-overlap', '32']));
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stderr).toContain('nst: the 32-px tile overlap is more than a quarter of the 64-px tiles: they overlap by 16 px\n');
    const quiet = await runNst(tiled([]));
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain('tile overlap');
    await rm(f.out, { force: true });
  }, 120_000);
});

describe('class 9: a flat content image is said, and does not stop the run at once', () => {
  it.skipIf(!haveWeights)(`a 1x1 photo runs all its iterations and says what its flatness changes${haveWeights ? '' : ' (skipped: ../shared/data/vgg19-imagenet-uint8 absent)'}`, async () => {
    const flat = path.join(f.dir, 'one pixel.png');
    await writeFile(flat, await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer());
    const fromContent = await runNst(stylize({ content: flat, options: ['--iterations', '4', '--stop', 'off'] }));
    expect(fromContent.code, fromContent.stderr).toBe(0);
    const lines = expectNstLines(fromContent.stderr);
    expect(lines).toContain('nst: the content image is one flat colour: a run that starts from it can only shift that colour (a flat start gives the style no texture to grow from): start from noise to paint it; its TV term is weighed against the style image\'s variation, as it has none');
    // It stopped after one iteration: TV, divided by the photo's TV of 0, outweighed everything.
    expect(fromContent.stderr).toContain('(64x64, 4 iterations');
    const fromNoise = await runNst(stylize({ content: flat, options: ['--iterations', '2', '--init', 'noise'] }));
    expect(fromNoise.code, fromNoise.stderr).toBe(0);
    expect(fromNoise.stderr).toContain('nst: the content image is one flat colour: its TV term is weighed against the style image\'s variation, as it has none\n');
    await rm(f.out, { force: true });
  }, 120_000);
});

describe('class 10: an --ffmpeg that cannot run does not keep nst alive', () => {
  const ffmpegOnPath = findOnPath('ffmpeg');
  it.skipIf(ffmpegOnPath === null)(`nst video with a non-executable --ffmpeg says so, uses ffmpeg on PATH and exits at once${ffmpegOnPath ? '' : ' (skipped: no ffmpeg on PATH)'}`, async () => {
    const notExecutable = path.join(f.dir, 'ffmpeg not executable');
    await writeFile(notExecutable, '#!/bin/sh\necho "ffmpeg version 9.9"\n', { mode: 0o644 });
    const frames = path.join(f.dir, 'two frames');
    await mkdir(frames, { recursive: true });
    for (const i of [1, 2]) await writeFile(path.join(frames, `frame_00000${i}.png`), await png(16, 16, 20 + i));
    const output = path.join(f.dir, 'two frames.mp4');
    const started = performance.now();
    const result = await runNst(['video', frames, '-o', output, '--ffmpeg', notExecutable, '--hold', '0']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`${notExecutable} cannot run (EACCES)`);
    expect(existsSync(output)).toBe(true);
    // The -version check's 15 s timer outlived the child that never started.
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 60_000);
});
