// Hostile inputs to the engine, as one table: every damaged, disguised, oversized or absurd input is refused with a
// specific NstError code and a sentence naming what is wrong — quickly, without crashing or allocating gigabytes —
// and the awkward-but-valid ones (16-bit, CMYK, grayscale, alpha, EXIF-rotated, unicode paths) decode correctly.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUN_SETTINGS } from '../../src/engine/settings.js';
import { isNstError, type NstErrorCode } from '../../src/engine/errors.js';
import { decodeImage, noiseImage, resizeImage, type PlanarImage } from '../../src/engine/io/image.js';
import { FLAT_TV, totalVariation, tvBalance } from '../../src/engine/model/balance.js';
import type { LossBreakdown } from '../../src/engine/model/objective.js';
import { expandContentInputs } from '../../src/engine/persist/batch-manifest.js';
import { nonFiniteLoss } from '../../src/engine/render/loss-failure.js';
import { planRender } from '../../src/engine/render/render.js';
import { DEFAULT_TILE_OVERLAP_PX } from '../../src/engine/render/memory.js';
import { exportVideo } from '../../src/engine/video/export.js';
import { resolveFfmpeg } from '../../src/engine/video/ffmpeg.js';
import type { Vgg19Weights } from '../../src/engine/weights/types.js';
import { runStyleTransfer, type RunSettings } from '../../src/engine/render/run.js';
import { downloadAndInstallWeights, importWeights } from '../../src/engine/weights/import.js';
import { loadWeights, MAX_WEIGHT_MAGNITUDE } from '../../src/engine/weights/load.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { loadConvertedWeights, storePaths, weightsStatus, writeConvertedWeights, type WeightsProvenance } from '../../src/engine/weights/store.js';
import { writeKerasH5 } from '../helpers/keras-h5-writer.js';
import { corruptScan, damaged, gifBomb, halves, jpegBomb, pngBomb, pngWithMetadataBombs, solid, svgBomb, truncated, webpBomb } from '../helpers/hostile-files.js';
import { h5Bomb, h5LinkCycle, onnxFile, poisoned, resnetH5, tfjsFolder, vgg16Like } from '../helpers/hostile-weights.js';
import { REPO_ROOT, sharedPath } from '../helpers/shared-data.js';

let dir = '';
beforeAll(async () => {
  // Spaces and non-ASCII in every path the table uses: nothing may depend on a tame temp folder.
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst hostile ünïcødé 画 '));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A file in the scratch folder with these bytes; its path. */
async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const target = path.join(dir, name);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, bytes);
  return target;
}

const png = (): Promise<Buffer> => solid(48, 32).png().toBuffer();
const jpeg = (): Promise<Buffer> => noisy(48, 32).jpeg({ quality: 90 }).toBuffer();
const webp = (): Promise<Buffer> => noisy(48, 32).webp({ quality: 80 }).toBuffer();

/** Noise, so the encoders produce entropy-coded data that a damaged byte actually breaks. */
function noisy(width: number, height: number): Sharp {
  const image = noiseImage(width, height, 9);
  const hwc = Buffer.alloc(width * height * 3);
  for (let c = 0; c < 3; c++) for (let p = 0; p < width * height; p++) hwc[p * 3 + c] = Math.round(image.data[c * width * height + p]!);
  return sharp(hwc, { raw: { width, height, channels: 3 } });
}

// --- parameters ------------------------------------------------------------------------------------------------

const tinyWeights = randomVgg19Weights({ seed: 1, channelScale: 1 / 16 });
const SETTINGS: RunSettings = { ...DEFAULT_RUN_SETTINGS, iterations: 1, device: 'cpu', threads: 1 };

function run(overrides: Partial<Record<keyof RunSettings, unknown>>, images: { content?: PlanarImage; style?: PlanarImage } = {}): Promise<unknown> {
  return runStyleTransfer(
    { weights: tinyWeights, content: images.content ?? noiseImage(32, 32, 1), styles: [images.style ?? noiseImage(32, 32, 2)] },
    { ...SETTINGS, ...overrides } as RunSettings,
  );
}

// --- the table -----------------------------------------------------------------------------------------------

interface Rejection {
  name: string;
  act: () => Promise<unknown>;
  code: NstErrorCode;
  /** A fragment of the sentence: what it names or says. */
  message: RegExp;
  /** Skip where the platform lacks what the case needs (FIFOs and /dev/zero on Windows). */
  skip?: () => boolean;
}

const posixOnly = (): boolean => process.platform === 'win32';

export const ENGINE_REJECTIONS: readonly Rejection[] = [
  // Empty, cut short, damaged.
  { name: 'zero bytes', act: () => decodeImage(new Uint8Array(0), { sourceName: 'drop.png' }), code: 'NOT_AN_IMAGE', message: /drop\.png is empty \(0 bytes\)/ },
  { name: 'a zero-byte file under a path with spaces and unicode', act: async () => decodeImage(await file('leer ä 空.png', '')), code: 'NOT_AN_IMAGE', message: /leer ä 空\.png is empty/ },
  { name: 'a PNG cut after its signature', act: async () => decodeImage(truncated(await png(), 0.1)), code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },
  { name: 'a PNG cut in half', act: async () => decodeImage(truncated(await png(), 0.5), { sourceName: 'half.png' }), code: 'NOT_AN_IMAGE', message: /half\.png is not an image that can be decoded/ },
  { name: 'a PNG with a damaged chunk CRC', act: async () => decodeImage(damaged(await png(), -20, 2)), code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },
  { name: 'a PNG whose header says 0x0', act: () => decodeImage(pngBomb(0, 0)), code: 'NOT_AN_IMAGE', message: /not an image that can be decoded \(Input buffer has corrupt header\)/ },
  { name: 'a JPEG cut to 4 bytes', act: async () => decodeImage(truncated(await jpeg(), 4 / 2000)), code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },
  { name: 'a JPEG cut in half (a broken download)', act: async () => decodeImage(await file('half photo.jpg', truncated(await jpeg(), 0.5))), code: 'NOT_AN_IMAGE', message: /half photo\.jpg is not an image that can be decoded/ },
  { name: 'a JPEG missing only its last 2 bytes (end marker)', act: async () => { const whole = await jpeg(); return decodeImage(Buffer.from(whole.subarray(0, whole.length - 2))); }, code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },
  { name: 'a WebP missing only its last byte', act: async () => { const whole = await webp(); return decodeImage(Buffer.from(whole.subarray(0, whole.length - 1))); }, code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },
  { name: 'a JPEG with garbage over its tables', act: async () => decodeImage(damaged(await jpeg(), 20, 200)), code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },
  { name: 'a JPEG whose frame header says height 0', act: async () => decodeImage(await jpegBomb(16, 0)), code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },
  { name: 'a WebP cut in half', act: async () => decodeImage(truncated(await webp(), 0.5)), code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },
  { name: 'a WebP cut inside its RIFF header', act: async () => decodeImage(Buffer.from((await webp()).subarray(0, 16))), code: 'NOT_AN_IMAGE', message: /not an image that can be decoded/ },

  // Not images at all, whatever the name says.
  { name: 'a text file named .jpg', act: async () => decodeImage(await file('notes.jpg', 'these are notes\n')), code: 'NOT_AN_IMAGE', message: /notes\.jpg is not an image that can be decoded \(.*unsupported image format\)/ },
  { name: 'an HTML page named .png', act: async () => decodeImage(await file('page.png', '<!doctype html><title>x</title>')), code: 'NOT_AN_IMAGE', message: /page\.png is not an image/ },
  { name: 'a PDF named .png', act: async () => decodeImage(await file('scan.png', '%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n')), code: 'NOT_AN_IMAGE', message: /scan\.png is not an image/ },
  { name: 'a ZIP named .webp', act: async () => decodeImage(await file('archive.webp', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(64)]))), code: 'NOT_AN_IMAGE', message: /archive\.webp is not an image/ },
  { name: 'an executable named .jpeg', act: async () => decodeImage(await file('program.jpeg', Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01'), Buffer.alloc(120)]))), code: 'NOT_AN_IMAGE', message: /program\.jpeg is not an image/ },
  { name: 'a folder named .png', act: async () => { await mkdir(path.join(dir, 'folder.png'), { recursive: true }); return decodeImage(path.join(dir, 'folder.png')); }, code: 'NOT_AN_IMAGE', message: /folder\.png is a folder/ },
  {
    name: 'a named pipe (would block a reader forever)',
    act: async () => {
      const fifo = path.join(dir, 'pipe.png');
      if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
      return decodeImage(fifo);
    },
    code: 'NOT_AN_IMAGE',
    message: /pipe\.png is not a regular file/,
    skip: posixOnly,
  },
  { name: '/dev/zero (never ends)', act: () => decodeImage('/dev/zero'), code: 'NOT_AN_IMAGE', message: /\/dev\/zero is not a regular file/, skip: () => !existsSync('/dev/zero') },
  { name: 'a missing file under a path with spaces and unicode', act: () => decodeImage(path.join(dir, 'nicht da', 'Фото 1.jpg')), code: 'FILE_NOT_FOUND', message: /No file at .*nicht da.*Фото 1\.jpg/ },

  // Decompression bombs: refused from the header, before a pixel is decoded.
  { name: 'a 50,000 x 50,000 PNG bomb (a few hundred bytes)', act: () => decodeImage(pngBomb(50_000, 50_000), { sourceName: 'bomb.png' }), code: 'IMAGE_TOO_LARGE', message: /bomb\.png is 50000x50000: more than the 100,000,000 pixels allowed/ },
  { name: 'a PNG bomb on disk', act: async () => decodeImage(await file('bomb 💣.png', pngBomb(30_000, 30_000))), code: 'IMAGE_TOO_LARGE', message: /bomb 💣\.png is 30000x30000/ },
  { name: 'a 65,000 x 65,000 JPEG bomb', act: async () => decodeImage(await jpegBomb(65_000, 65_000)), code: 'IMAGE_TOO_LARGE', message: /is 65000x65000/ },
  { name: 'a 16,383 x 16,383 WebP bomb', act: async () => decodeImage(await webpBomb(16_383, 16_383)), code: 'IMAGE_TOO_LARGE', message: /is 16383x16383/ },
  { name: 'a 65,000 x 65,000 GIF bomb', act: async () => decodeImage(await gifBomb(65_000, 65_000)), code: 'IMAGE_TOO_LARGE', message: /is 65000x65000/ },
  { name: 'an SVG claiming 100,000 x 100,000', act: () => decodeImage(svgBomb(100_000, 100_000)), code: 'IMAGE_TOO_LARGE', message: /is 100000x100000/ },
  { name: 'an ordinary PNG over a lowered pixel limit', act: async () => decodeImage(await png(), { maxInputPixels: 1000 }), code: 'IMAGE_TOO_LARGE', message: /is 48x32: more than the 1,000 pixels allowed/ },

  // Absurd decode parameters.
  { name: 'sizePx 0', act: async () => decodeImage(await png(), { sizePx: 0 }), code: 'BAD_ARGUMENT', message: /sizePx must be a whole number of at least 1, got 0/ },
  { name: 'sizePx -1', act: async () => decodeImage(await png(), { sizePx: -1 }), code: 'BAD_ARGUMENT', message: /sizePx .* got -1/ },
  { name: 'sizePx NaN', act: async () => decodeImage(await png(), { sizePx: Number.NaN }), code: 'BAD_ARGUMENT', message: /sizePx .* got NaN/ },
  { name: 'sizePx 10^6 (a terapixel upscale)', act: async () => decodeImage(await png(), { sizePx: 1_000_000 }), code: 'BAD_ARGUMENT', message: /sizePx must be at most 16384 .* got 1000000/ },
  { name: 'a resize to 10^6 x 10^6', act: async () => resizeImage(noiseImage(4, 4, 1), 1_000_000, 1_000_000), code: 'BAD_ARGUMENT', message: /A 1000000x1000000 image is more than the 268,435,456 pixels the engine works with/ },
  { name: 'a resize to 0 x 10', act: async () => resizeImage(noiseImage(4, 4, 1), 0, 10), code: 'BAD_ARGUMENT', message: /width must be a whole number of at least 1, got 0/ },
  { name: 'a noise image of 10^5 x 10^5', act: async () => noiseImage(100_000, 100_000, 1), code: 'BAD_ARGUMENT', message: /A 100000x100000 image is more than/ },
  { name: 'maxInputPixels 0', act: async () => decodeImage(await png(), { maxInputPixels: 0 }), code: 'BAD_ARGUMENT', message: /maxInputPixels .* got 0/ },

  // Weights: non-finite values.
  { name: 'NaN in a TF.js kernel', act: async () => loadWeights(await tfjsFolder(dir, 'tfjs nan', poisoned('block1_conv2', 'kernel', Number.NaN))), code: 'BAD_WEIGHTS', message: /Layer block1_conv2 .* non-finite kernel value \(NaN at index/ },
  { name: '+Infinity in a TF.js bias', act: async () => loadWeights(await tfjsFolder(dir, 'tfjs inf', poisoned('block1_conv1', 'bias', Number.POSITIVE_INFINITY))), code: 'BAD_WEIGHTS', message: /Layer block1_conv1 .* non-finite bias value \(Infinity at index 3\)/ },
  { name: '-Infinity in a Keras .h5 kernel', act: async () => loadWeights(await writeKerasH5(path.join(dir, 'neg inf.h5'), poisoned('block1_conv2', 'kernel', Number.NEGATIVE_INFINITY))), code: 'BAD_WEIGHTS', message: /Layer block1_conv2 .* non-finite kernel value \(-Infinity/ },
  { name: 'NaN in an ONNX initializer', act: async () => loadWeights(await onnxFile(dir, 'nan.onnx', poisoned('block1_conv1', 'kernel', Number.NaN))), code: 'BAD_WEIGHTS', message: /Layer block1_conv1 .* non-finite kernel value \(NaN/ },

  // Weights: the wrong network.
  { name: 'a ResNet .h5', act: async () => loadWeights(await resnetH5(dir, 'resnet50.h5')), code: 'BAD_WEIGHTS', message: /resnet50\.h5 .*no VGG19 layer groups/ },
  { name: 'VGG16 weights imported as VGG19', act: async () => importWeights(await writeKerasH5(path.join(dir, 'vgg16.h5'), vgg16Like()), { root: path.join(dir, 'store-vgg16') }), code: 'BAD_WEIGHTS', message: /Not imported: .*vgg16\.h5 .*lacks block3_conv4/ },
  { name: 'a half-width VGG', act: async () => loadWeights(await tfjsFolder(dir, 'tfjs narrow', randomVgg19Weights({ seed: 1, depth: 2, channelScale: 0.5 }))), code: 'BAD_WEIGHTS', message: /block1_conv1 .* kernel \[32, 3, 3, 3\]; VGG19 needs \[64, 3, 3, 3\]/ },
  { name: 'a 7 KB .h5 declaring a 21.6 GB kernel', act: async () => loadWeights(await h5Bomb(dir, 'bomb.h5')), code: 'BAD_WEIGHTS', message: /bomb\.h5: dataset \/block1_conv1\/block1_conv1\/kernel:0 has shape \[3, 3, 3, 200000000\], more values than any VGG19 layer holds/ },
  { name: 'an .h5 whose layer group hard-links to itself', act: async () => loadWeights(await h5LinkCycle(dir, 'hard cycle.h5', 'hard')), code: 'BAD_WEIGHTS', message: /Layer block1_conv1 in .*hard cycle\.h5 nests groups deeper than Keras writes them/ },
  { name: 'an .h5 whose layer group soft-links to itself', act: async () => loadWeights(await h5LinkCycle(dir, 'soft cycle.h5', 'soft')), code: 'BAD_WEIGHTS', message: /Layer block1_conv1 in .*soft cycle\.h5 nests groups deeper than Keras writes them/ },
  { name: 'a PNG renamed .h5', act: async () => loadWeights(await file('photo.h5', await png())), code: 'BAD_WEIGHTS', message: /photo\.h5 is not an HDF5 file/ },
  { name: 'random bytes named .onnx', act: async () => loadWeights(await file('noise.onnx', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34]))), code: 'BAD_WEIGHTS', message: /noise\.onnx is not an ONNX model/ },
  { name: 'an empty .onnx', act: async () => loadWeights(await file('empty.onnx', '')), code: 'BAD_WEIGHTS', message: /empty\.onnx .*no graph/ },

  // Weights: TF.js manifests that point outside their folder, or at something that never ends.
  { name: 'a TF.js shard path climbing out of the folder', act: async () => { await file('secret.bin', Buffer.alloc(64 * 27 * 4 + 256)); return loadWeights(await tfjsFolder(dir, 'tfjs escape', randomVgg19Weights({ seed: 1, depth: 1 }), { 1: ['../secret.bin'] })); }, code: 'BAD_WEIGHTS', message: /names the weight shard "\.\.\/secret\.bin" outside its own folder/ },
  { name: 'a TF.js shard path that is absolute (/dev/zero)', act: async () => loadWeights(await tfjsFolder(dir, 'tfjs absolute', randomVgg19Weights({ seed: 1, depth: 1 }), { 1: ['/dev/zero'] })), code: 'BAD_WEIGHTS', message: /names the weight shard "\/dev\/zero" outside its own folder/ },
  { name: 'a TF.js manifest naming one shard 10,000 times', act: async () => loadWeights(await tfjsFolder(dir, 'tfjs repeat', randomVgg19Weights({ seed: 1, depth: 1 }), { 1: Array.from({ length: 10_000 }, () => 'group1-shard1of1.bin') })), code: 'BAD_WEIGHTS', message: /is longer than the manifest says/ },
  { name: 'a TF.js shard that is a folder', act: async () => { const folder = await tfjsFolder(dir, 'tfjs dir shard', randomVgg19Weights({ seed: 1, depth: 1 }), { 1: ['sub'] }); await mkdir(path.join(folder, 'sub'), { recursive: true }); return loadWeights(folder); }, code: 'BAD_WEIGHTS', message: /shard .*sub named in .* is not a regular file/ },
  {
    name: 'a named pipe called model.json as weights',
    act: async () => {
      const fifo = path.join(dir, 'pipe weights', 'model.json');
      await mkdir(path.dirname(fifo), { recursive: true });
      if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
      return loadWeights(fifo);
    },
    code: 'BAD_WEIGHTS',
    message: /model\.json is not a regular file or folder \(a device, pipe or socket\)/,
    skip: posixOnly,
  },
  { name: '/dev/zero as weights', act: () => loadWeights('/dev/zero'), code: 'BAD_WEIGHTS', message: /\/dev\/zero is not a regular file or folder/, skip: () => !existsSync('/dev/zero') },
  { name: 'weights under a missing unicode path', act: () => loadWeights(path.join(dir, 'kein Ordner', 'vgg19 ü.h5')), code: 'FILE_NOT_FOUND', message: /vgg19 ü\.h5 does not exist/ },

  // Absurd run parameters: refused before any graph is built.
  { name: 'iterations -1', act: () => run({ iterations: -1 }), code: 'BAD_ARGUMENT', message: /iterations must be a whole number from 0 to 1000000, got -1/ },
  { name: 'iterations NaN', act: () => run({ iterations: Number.NaN }), code: 'BAD_ARGUMENT', message: /iterations .* got NaN/ },
  { name: 'iterations 10^9', act: () => run({ iterations: 1e9 }), code: 'BAD_ARGUMENT', message: /iterations .* got 1000000000/ },
  { name: 'learning rate 0', act: () => run({ learningRate: 0 }), code: 'BAD_ARGUMENT', message: /learning rate must be a number above 0, got 0/ },
  { name: 'learning rate NaN', act: () => run({ learningRate: Number.NaN }), code: 'BAD_ARGUMENT', message: /learning rate .* got NaN/ },
  { name: 'a negative style weight', act: () => run({ styleWeight: -1 }), code: 'BAD_ARGUMENT', message: /style weight must be a finite number from 0 to 1e10, got -1/ },
  { name: 'a NaN content weight', act: () => run({ contentWeight: Number.NaN }), code: 'BAD_ARGUMENT', message: /content weight .* got NaN/ },
  { name: 'an infinite TV weight', act: () => run({ tvWeight: Number.POSITIVE_INFINITY }), code: 'BAD_ARGUMENT', message: /tv weight .* got Infinity/ },
  { name: 'a negative layer weight', act: () => run({ layerWeights: { block1_conv1: -2 } }), code: 'BAD_ARGUMENT', message: /layer weight for block1_conv1 .* got -2/ },
  { name: 'a weight for an unknown layer', act: () => run({ layerWeights: { block6_conv1: 1 } }), code: 'UNKNOWN_LAYER', message: /Unknown VGG19 layer "block6_conv1"/ },
  { name: 'an unknown style layer', act: () => run({ styleLayers: ['block1_conv1', 'block6_conv1'] }), code: 'UNKNOWN_LAYER', message: /Unknown VGG19 layer "block6_conv1"/ },
  { name: 'an unknown content layer', act: () => run({ contentLayers: ['conv9_9'] }), code: 'UNKNOWN_LAYER', message: /Unknown VGG19 layer "conv9_9"/ },
  { name: 'a negative style blend', act: () => run({ styleBlend: [-1] }), code: 'BAD_ARGUMENT', message: /Style blend weights must be ≥ 0, got -1/ },
  { name: 'a NaN style blend', act: () => run({ styleBlend: [Number.NaN] }), code: 'BAD_ARGUMENT', message: /Style blend weights .* got NaN/ },
  { name: 'style blend weights adding up to 0', act: () => run({ styleBlend: [0] }), code: 'BAD_ARGUMENT', message: /add up to 0/ },
  { name: 'a fractional seed', act: () => run({ seed: 1.5 }), code: 'BAD_ARGUMENT', message: /seed must be a whole number, got 1\.5/ },
  { name: 'an unknown pool', act: () => run({ pool: 'median' }), code: 'BAD_ARGUMENT', message: /pool must be max or avg, got "median"/ },
  { name: 'an unknown init', act: () => run({ init: 'zeros' }), code: 'BAD_ARGUMENT', message: /init must be content, noise or style, got "zeros"/ },

  // Images too small for the layers asked for (a panorama sliver at the output size).
  { name: 'a 7x40 output for block5_conv1', act: () => run({}, { content: noiseImage(7, 40, 1) }), code: 'IMAGE_TOO_SMALL', message: /The output image is 7x40 px, but layer block5_conv1 needs at least 16 px on each side/ },
  { name: 'a 1-pixel-wide output', act: () => run({ styleLayers: ['block2_conv1'], contentLayers: ['block2_conv2'] }, { content: noiseImage(1, 64, 1) }), code: 'IMAGE_TOO_SMALL', message: /1x64 px, but layer block2_conv2 needs at least 2 px/ },
  { name: 'a 3x3 style image', act: () => run({}, { style: noiseImage(3, 3, 2) }), code: 'IMAGE_TOO_SMALL', message: /Style image 1 is 3x3 px, but layer block5_conv1 needs at least 16 px/ },

  // Issue 13, class 4: damage a decoder paints over (a warning, not an error) instead of refusing.
  { name: 'a JPEG whose scan data is corrupt (headers, tables and end marker intact)', act: async () => decodeImage(corruptScan(await jpeg()), { sourceName: 'rotted.jpg' }), code: 'NOT_AN_IMAGE', message: /rotted\.jpg is not an image that can be decoded \(.*Corrupt JPEG data/ },
  { name: 'a corrupt-scan JPEG on disk', act: async () => decodeImage(await file('bit rot.jpg', corruptScan(await jpeg()))), code: 'NOT_AN_IMAGE', message: /bit rot\.jpg is not an image that can be decoded/ },
  { name: 'a corrupt-scan JPEG as a video frame', act: async () => exportVideo({ framesDir: await frames('rotted frames', [corruptScan(await jpeg())], 'jpg'), output: path.join(dir, 'rotted.mp4'), ffmpeg: NEVER_RUN }), code: 'NOT_AN_IMAGE', message: /Cannot read the frame .*rotted frames.frame_000001\.jpg/ },

  // Issue 13, class 8: finite but absurd values, refused up front and blamed on what is absurd.
  { name: 'a kernel value of 3.4e30 (a flipped exponent bit)', act: async () => loadWeights(await tfjsFolder(dir, 'tfjs bit flip', poisoned('block1_conv2', 'kernel', 3.4e30))), code: 'BAD_WEIGHTS', message: /Layer block1_conv2 .* kernel value of 3\.400e\+30 at index 17, beyond the ±10000 .*damaged/ },
  { name: 'a bias of -200000', act: async () => loadWeights(await writeKerasH5(path.join(dir, 'big bias.h5'), poisoned('block1_conv1', 'bias', -2e5))), code: 'BAD_WEIGHTS', message: /Layer block1_conv1 .* bias value of -2\.000e\+5 at index 3/ },
  { name: 'a style weight of 1e308', act: () => run({ styleWeight: 1e308 }), code: 'BAD_ARGUMENT', message: /style weight must be a finite number from 0 to 1e10, got 1e\+308/ },
  { name: 'a layer weight of 1e11', act: () => run({ layerWeights: { block1_conv1: 1e11 } }), code: 'BAD_ARGUMENT', message: /layer weight for block1_conv1 must be a finite number from 0 to 1e10, got 100000000000/ },
  {
    name: 'weights within the magnitude bound whose activations overflow float32: blamed on the weights, before any step',
    act: () => runStyleTransfer({ weights: amplified(2000), content: noiseImage(32, 32, 1), styles: [noiseImage(32, 32, 2)] }, SETTINGS),
    code: 'BAD_WEIGHTS',
    message: /loss of the starting image is (NaN|Infinity), before any step: the style term of block\d_conv\d is (NaN|Infinity), so the network's weights/,
  },

  // Issue 13, class 9: a frame that would be stretched.
  { name: 'a video frame of another shape', act: async () => exportVideo({ framesDir: await frames('mixed shapes', [await solid(32, 32).png().toBuffer(), await solid(32, 16).png().toBuffer()]), output: path.join(dir, 'mixed.mp4'), ffmpeg: NEVER_RUN }), code: 'BAD_ARGUMENT', message: /frame_000002\.png is 32x16, a different shape from the first frame .*frame_000001\.png \(32x32\).*stretch/ },

  // Issue 13, class 10: inputs read as something they are not.
  { name: 'a batch whose content folder is its output folder', act: async () => { const photos = await frames('photos', [await png()]); return expandContentInputs([photos], { excludeDir: photos }); }, code: 'BAD_ARGUMENT', message: /photos is both a content folder and the output folder/ },
  { name: 'a batch content file inside its output folder', act: async () => { const photos = await frames('photos named', [await png()]); return expandContentInputs([path.join(photos, 'frame_000001.png')], { excludeDir: photos }); }, code: 'BAD_ARGUMENT', message: /frame_000001\.png is a content image inside the output folder/ },
  { name: 'an ftp:// weights URL', act: () => downloadAndInstallWeights({ root: path.join(dir, 'store ftp'), urls: ['ftp://example.com/vgg19.h5'] }), code: 'BAD_ARGUMENT', message: /Cannot download ftp:\/\/example\.com\/vgg19\.h5: nst speaks http and https .*not ftp\./ },
  { name: 'a weights path that leads nowhere (no partial download claimed)', act: () => downloadAndInstallWeights({ root: path.join(dir, 'store nowhere'), urls: [path.join(dir, 'nowhere.h5')] }), code: 'DOWNLOAD_FAILED', message: /^Could not get the VGG19 weights: .*nowhere\.h5 is not a file\.$/ },
];

/** An ffmpeg for exports refused before ffmpeg would start: never run. */
const NEVER_RUN = { path: path.join(os.tmpdir(), 'nst-no-such-ffmpeg'), source: 'setting' } as const;

/** A folder of numbered frames frame_000001.EXT … with these bytes; its path. */
async function frames(name: string, images: readonly Uint8Array[], extension = 'png'): Promise<string> {
  const folder = path.join(dir, name);
  await mkdir(folder, { recursive: true });
  for (const [i, bytes] of images.entries()) await writeFile(path.join(folder, `frame_${String(i + 1).padStart(6, '0')}.${extension}`), bytes);
  return folder;
}

/** tinyWeights with every kernel value multiplied by `factor` (checked to stay within the load-time magnitude bound). */
function amplified(factor: number): Vgg19Weights {
  const layers = new Map([...tinyWeights.layers].map(([name, layer]) => [name, { ...layer, kernel: layer.kernel.map((v) => v * factor) }]));
  for (const layer of layers.values()) expect(Math.max(...layer.kernel.map(Math.abs))).toBeLessThan(MAX_WEIGHT_MAGNITUDE);
  return { ...tinyWeights, layers };
}

describe('hostile inputs to the engine: each refused with its own code and sentence', () => {
  it.each(ENGINE_REJECTIONS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    if (row.skip?.()) return;
    const startedMs = performance.now();
    const rssBefore = process.memoryUsage().rss;
    const error: unknown = await row.act().then(
      (value) => ({ resolved: value }),
      (caught: unknown) => caught,
    );
    expect(isNstError(error), `expected NstError ${row.code}, got ${error instanceof Error ? `${error.name}: ${error.message}` : JSON.stringify(error)}`).toBe(true);
    if (!isNstError(error)) return;
    expect(error.code, error.message).toBe(row.code);
    expect(error.message).toMatch(row.message);
    expect(error.message, 'one sentence, no stack or library dump').not.toMatch(/\n/);
    // Refused from headers and checks, not by trying: seconds and megabytes, never gigabytes.
    expect(performance.now() - startedMs).toBeLessThan(15_000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024);
  });

  it('has at least 50 rows', () => {
    expect(ENGINE_REJECTIONS.length).toBeGreaterThanOrEqual(50);
  });

  it('installs nothing when an import is refused', async () => {
    const root = path.join(dir, 'store-nan');
    await expect(importWeights(await tfjsFolder(dir, 'tfjs nan import', poisoned('block1_conv1', 'kernel', Number.NaN)), { root })).rejects.toMatchObject({ code: 'BAD_WEIGHTS' });
    expect((await weightsStatus(root)).index).toBeNull();
    const leftovers = existsSync(root) ? await readdir(root, { recursive: true }) : [];
    expect(leftovers.filter((name) => String(name).endsWith('.tmp'))).toEqual([]);
  });
});

// --- awkward but valid: decoded right, not refused ------------------------------------------------------------

/** The RGB value of pixel (x, y) of a planar image. */
function pixel(image: PlanarImage, x: number, y: number): number[] {
  const plane = image.width * image.height;
  const p = y * image.width + x;
  return [image.data[p]!, image.data[plane + p]!, image.data[2 * plane + p]!];
}

function near(actual: number[], expected: number[], tolerance: number): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `channel ${i} of [${actual.join(', ')}]`).toBeLessThanOrEqual(tolerance));
}

/** Stored 40x20, left half red and right half blue, with an EXIF orientation tag. */
function rotatedJpeg(orientation: number): Promise<Buffer> {
  return sharp(halves(40, 20), { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation }).toBuffer();
}

interface Decoding {
  name: string;
  input: () => Promise<string | Uint8Array>;
  check: (image: PlanarImage) => void;
}

export const ENGINE_VALID_ODDITIES: readonly Decoding[] = [
  {
    name: 'a 16-bit RGB PNG',
    input: () => sharp(new Uint16Array([65535, 0, 65535, 32896, 32896, 32896]), { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer(),
    check: (image) => {
      expect([image.width, image.height]).toEqual([2, 1]);
      expect(pixel(image, 0, 0)).toEqual([255, 0, 255]);
      expect(pixel(image, 1, 0)).toEqual([128, 128, 128]);
    },
  },
  {
    name: 'a 16-bit grayscale PNG',
    input: () => sharp(new Uint16Array([0, 65535]), { raw: { width: 2, height: 1, channels: 1 } }).toColourspace('grey16').png().toBuffer(),
    check: (image) => {
      expect(pixel(image, 0, 0)).toEqual([0, 0, 0]);
      expect(pixel(image, 1, 0)).toEqual([255, 255, 255]);
    },
  },
  {
    name: 'a CMYK JPEG',
    input: () => sharp(halves(16, 8), { raw: { width: 16, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
    check: (image) => {
      expect([image.width, image.height]).toEqual([16, 8]);
      const [r, g, b] = pixel(image, 2, 4);
      expect(r).toBeGreaterThan(180);
      expect(g).toBeLessThan(60);
      expect(b).toBeLessThan(60);
      // sRGB blue is outside the CMYK gamut: it comes back a duller blue, but clearly blue.
      const [r2 = 0, g2 = 0, b2 = 0] = pixel(image, 13, 4);
      expect(b2).toBeGreaterThan(120);
      expect(b2 - Math.max(r2, g2)).toBeGreaterThan(40);
    },
  },
  {
    name: 'an 8-bit grayscale PNG',
    input: () => sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 4, height: 1, channels: 1 } }).toColourspace('b-w').png().toBuffer(),
    check: (image) => [0, 100, 200, 255].forEach((v, x) => expect(pixel(image, x, 0)).toEqual([v, v, v])),
  },
  {
    name: 'a grayscale PNG with alpha',
    input: () => sharp(Buffer.from([0, 255, 0, 0]), { raw: { width: 2, height: 1, channels: 2 } }).png().toBuffer(),
    check: (image) => {
      expect(pixel(image, 0, 0)).toEqual([0, 0, 0]);
      expect(pixel(image, 1, 0)).toEqual([255, 255, 255]); // transparent: white
    },
  },
  {
    name: 'an RGBA WebP with half transparency',
    input: () => sharp(Buffer.from([0, 0, 255, 128, 255, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 4 } }).webp({ lossless: true }).toBuffer(),
    check: (image) => {
      near(pixel(image, 0, 0), [127, 127, 255], 2);
      expect(pixel(image, 1, 0)).toEqual([255, 0, 0]);
    },
  },
  {
    name: 'a palette PNG with a transparent entry',
    input: () => sharp(Buffer.from([255, 0, 0, 255, 0, 255, 0, 0]), { raw: { width: 2, height: 1, channels: 4 } }).png({ palette: true, colours: 4 }).toBuffer(),
    check: (image) => {
      expect(pixel(image, 0, 0)).toEqual([255, 0, 0]);
      expect(pixel(image, 1, 0)).toEqual([255, 255, 255]);
    },
  },
  {
    name: 'an EXIF orientation 6 JPEG (turn clockwise)',
    input: () => rotatedJpeg(6),
    check: (image) => {
      expect([image.width, image.height]).toEqual([20, 40]);
      near(pixel(image, 10, 5), [255, 0, 0], 10); // stored left (red) is now on top
      near(pixel(image, 10, 34), [0, 0, 255], 10);
    },
  },
  {
    name: 'an EXIF orientation 3 JPEG (upside down)',
    input: () => rotatedJpeg(3),
    check: (image) => {
      expect([image.width, image.height]).toEqual([40, 20]);
      near(pixel(image, 5, 10), [0, 0, 255], 10); // stored right (blue) is now on the left
      near(pixel(image, 34, 10), [255, 0, 0], 10);
    },
  },
  {
    name: 'an EXIF orientation 8 JPEG (turn anticlockwise)',
    input: () => rotatedJpeg(8),
    check: (image) => {
      expect([image.width, image.height]).toEqual([20, 40]);
      near(pixel(image, 10, 5), [0, 0, 255], 10); // stored right (blue) is now on top
      near(pixel(image, 10, 34), [255, 0, 0], 10);
    },
  },
  {
    name: 'a PNG under a path with spaces, accents, CJK and an emoji',
    input: async () => file(path.join('Mes images 🎨', 'été 写真 1.png'), await solid(6, 4, '#102030').png().toBuffer()),
    check: (image) => {
      expect([image.width, image.height]).toEqual([6, 4]);
      expect(pixel(image, 3, 2)).toEqual([16, 32, 48]);
    },
  },
  {
    name: 'a PNG whose iCCP, zTXt and iTXt chunks each inflate to 64 MB (a metadata bomb)',
    input: () => pngWithMetadataBombs(6, 4),
    check: (image) => {
      expect([image.width, image.height]).toEqual([6, 4]);
      expect(pixel(image, 2, 2)).toEqual([200, 60, 40]);
    },
  },
  {
    name: 'a PNG whose zlib stream inflates to 64 MB (extra data past the one pixel)',
    input: async () => pngBomb(1, 1, 64 * 1024 * 1024),
    check: (image) => expect([image.width, image.height]).toEqual([1, 1]),
  },
];

describe('awkward but valid images: decoded with the right size, orientation and colours', () => {
  it.each(ENGINE_VALID_ODDITIES.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const image = await decodeImage(await row.input());
    expect(image.data.length).toBe(3 * image.width * image.height);
    row.check(image);
  });
});

// --- issue 13: corrupt input refused, whole photos still read ------------------------------------------------

describe('class 4: decoder warnings refuse an image, and no real photo raises one', () => {
  const photos = [...listImages(sharedPath('data', 'images')), ...listImages(path.join(REPO_ROOT, 'resources', 'examples'))];
  it.skipIf(photos.length === 0)(`every photo and painting of ../shared/data/images and resources/examples decodes (${photos.length} files)`, async () => {
    for (const photo of photos) {
      const image = await decodeImage(photo, { sizePx: 64 });
      expect(Math.max(image.width, image.height), photo).toBe(64);
    }
  });

  it('the corrupt-scan JPEG decodes without the strict rule: the damage is one libjpeg only warns about', async () => {
    // What made it dangerous: sharp's 'error' level paints it (here, to prove the test file is the case the issue names).
    const bytes = corruptScan(await jpeg());
    const lenient = await sharp(bytes, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
    expect([lenient.info.width, lenient.info.height]).toEqual([48, 32]);
    await expect(decodeImage(bytes)).rejects.toMatchObject({ code: 'NOT_AN_IMAGE' });
  });
});

function listImages(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder).filter((name) => /\.(png|jpe?g)$/i.test(name)).map((name) => path.join(folder, name)) : [];
}

// --- issue 13, class 8: a damaged install is damaged in its status ------------------------------------------

describe('class 8: weightsStatus checks what loading checks', () => {
  const provenance: WeightsProvenance = { kind: 'import', source: 'test', format: 'tfjs', files: [], date: '2026-12-07T00:00:00.000Z' };

  it('a truncated or missing blob is damage, in the words loading refuses it with', async () => {
    const root = path.join(dir, 'store truncated');
    await writeConvertedWeights(randomVgg19Weights({ seed: 2, depth: 1 }), provenance, root);
    expect((await weightsStatus(root)).damage).toBeNull();
    const { blob } = storePaths(root);
    const bytes = (await stat(blob)).size;
    await truncate(blob, bytes - 100);
    const status = await weightsStatus(root);
    expect(status.index).not.toBeNull();
    expect(status.damage).toBe(`its blob ${blob} holds ${bytes - 100} bytes, not the ${bytes} it lists`);
    await expect(loadConvertedWeights(root)).rejects.toMatchObject({ code: 'BAD_WEIGHTS', message: expect.stringContaining(status.damage!) });
    await rm(blob);
    expect((await weightsStatus(root)).damage).toBe(`its blob ${blob} is missing`);
  });

  it('a non-finite loss is blamed on what made it: network values, loss weights, or the step', () => {
    const loss = (total: number, styleTerm: number): LossBreakdown => ({ total, style: { block1_conv1: styleTerm }, content: { block4_conv2: 1 }, tv: 1 });
    expect(nonFiniteLoss(loss(Number.NaN, Number.POSITIVE_INFINITY), 1, true)).toMatchObject({ code: 'BAD_WEIGHTS', message: expect.stringMatching(/the style term of block1_conv1 is Infinity, so the network's weights/) });
    expect(nonFiniteLoss(loss(Number.POSITIVE_INFINITY, 1e30), 1, true)).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/every term is finite: the style, content, TV or layer weights are too large/) });
    expect(nonFiniteLoss(loss(Number.NaN, 1), 7, false)).toMatchObject({ code: 'RUNTIME_FAILURE', message: expect.stringMatching(/at iteration 7: lower the learning rate/) });
  });
});

// --- issue 13, class 9: what is changed is said ---------------------------------------------------------------

/** An ffmpeg for the exports that must really encode (they skip without one). */
const ffmpegPath = await resolveFfmpeg().then((tool) => tool.path, () => null);
const haveFfmpeg = ffmpegPath !== null;

describe('class 9: silent changes are said or refused', () => {
  const render = { width: 1024, height: 768, settings: { ...DEFAULT_RUN_SETTINGS, convAlgorithm: 'direct' as const } };

  it('an asked-for tile overlap cut to a quarter of the tiles is said; the default cut silently', () => {
    const asked = planRender(render, 100 * 2 ** 30, 256, 200);
    expect(asked.plan).toMatchObject({ mode: 'tiled', tilePx: 256, overlapPx: 64 });
    expect(asked.notice).toBe('the 200-px tile overlap is more than a quarter of the 256-px tiles: they overlap by 64 px');
    expect(planRender(render, 100 * 2 ** 30, 256, 64).notice).toBeNull();
    expect(planRender(render, 100 * 2 ** 30, 128).notice).toBeNull();
    // The default overlap, passed as a setting (the studio always passes it), is cut as planned, silently.
    expect(planRender(render, 100 * 2 ** 30, 128, DEFAULT_TILE_OVERLAP_PX)).toEqual(planRender(render, 100 * 2 ** 30, 128));
    const auto = planRender(render, 1200 * 2 ** 20, 'auto', 1000);
    expect(auto.notice).toMatch(/memory limit: rendering \d+ tiles .*; the 1000-px tile overlap is more than a quarter of the \d+-px tiles: they overlap by \d+ px$/);
  });

  it('a flat content image balances TV by the style image\'s variation (its own is 0, and 1/0 held the run still)', () => {
    const flat = noiseImage(16, 16, 1);
    flat.data.fill(128);
    const style = noiseImage(16, 16, 2);
    expect(tvBalance(flat, [style])).toBe(1 / totalVariation(style));
    expect(tvBalance(style, [flat])).toBe(1 / totalVariation(style));
    expect(tvBalance(flat, [flat])).toBe(1 / FLAT_TV);
  });

  it.skipIf(!haveFfmpeg)('frames of the first frame\'s shape at another size are scaled, not refused', async () => {
    const folder = await frames('same shape', [await solid(32, 16).png().toBuffer(), await solid(16, 8).png().toBuffer(), await solid(64, 31).png().toBuffer()]);
    const result = await exportVideo({ framesDir: folder, output: path.join(dir, 'same shape.mp4'), holdFinalSeconds: 0, ffmpeg: ffmpegPath! });
    expect([result.width, result.height, result.capturedFrames]).toEqual([32, 16, 3]);
  });
});

// --- issue 13, class 10 ----------------------------------------------------------------------------------------

describe('class 10: an ffmpeg that cannot run leaves nothing behind', () => {
  it('a setting that is not executable is passed over at once, and no timer keeps the process alive', async () => {
    const notExecutable = await file('ffmpeg not executable', '#!/bin/sh\necho ffmpeg version 9\n');
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const started = performance.now();
    await expect(resolveFfmpeg({ settingPath: notExecutable, env: { PATH: '' }, packages: { ffmpegStatic: () => null, ffmpegInstaller: () => null } })).rejects.toMatchObject({
      code: 'FFMPEG_NOT_FOUND',
      message: expect.stringContaining(`${notExecutable} cannot run (EACCES)`),
    });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(timers()).toBe(before);
  });
});
