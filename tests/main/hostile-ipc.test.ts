// Hostile payloads across the IPC bridge, as one table: what a compromised or buggy page could send. Malformed
// payloads come back as BAD_REQUEST data naming the field, before any service, dialog or file is touched; payloads
// that pass validation but carry hostile bytes (bombs, broken images, poisoned or foreign weights, a manifest that
// reaches outside its folder) come back from the real services as errors with their specific codes.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_INDEX_URL } from '../../src/main/app-protocol.js';
import { ipcHandler } from '../../src/main/ipc/index.js';
import { saveDialogCalls, type SaveDialogs } from '../../src/main/ipc/save-dialogs.js';
import { trustPolicy, type SenderInfo } from '../../src/main/security.js';
import type { ExportSources } from '../../src/main/services/studio-backend.js';
import { RunService } from '../../src/main/services/run-service.js';
import { WeightsService } from '../../src/main/services/weights-service.js';
import { noiseImage } from '../../src/engine/io/image.js';
import type { RequestMethod, Result, RunEvent, StartRunRequest, StudioServices } from '../../src/shared/api.js';
import { apiHandlers } from '../../src/shared/dispatch.js';
import { DEFAULT_STUDIO_SETTINGS, DEFAULT_VIDEO_SETTINGS } from '../../src/shared/studio-settings.js';
import { EventLog, WEIGHTS_DIR, testSettings, tsJobWorker } from '../helpers/studio.js';
import { hasShared } from '../helpers/shared-data.js';
import { jpegBomb, pngBomb, solid, svgBomb, truncated } from '../helpers/hostile-files.js';
import { h5Bomb, h5ExternalLink, h5LinkCycle, poisoned, resnetH5, tfjsFolder } from '../helpers/hostile-weights.js';
import { writeKerasH5 } from '../helpers/keras-h5-writer.js';
import sharp from 'sharp';

vi.mock('electron', () => {
  throw new Error('a module under test loaded electron at run time');
});

const WINDOW_ID = 7;
const policy = trustPolicy({ isOwnWebContents: (id) => id === WINDOW_ID });
const ownEvent: SenderInfo = { sender: { id: WINDOW_ID }, senderFrame: { url: APP_INDEX_URL, parent: null } };
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface RecordingContext {
  calls: string[];
  services: StudioServices & ExportSources;
  dialogs: SaveDialogs;
}

/** Services and save dialogs that only record that they were reached: for a malformed payload nothing may reach them. */
function recordingContext(): RecordingContext {
  const calls: string[] = [];
  const services = new Proxy({} as StudioServices & ExportSources, {
    get: (_target, name) => async () => {
      calls.push(String(name));
      return { ok: true, value: null };
    },
  });
  return {
    calls,
    services,
    dialogs: {
      chooseSavePath: async () => {
        calls.push('chooseSavePath');
        return '/home/artist/Pictures/x.png';
      },
      writeFileAtomic: async (file) => {
        calls.push(`write ${file}`);
      },
      chooseExecutable: async () => {
        calls.push('chooseExecutable');
        return '/usr/bin/ffmpeg';
      },
    },
  };
}

/** As the window's call reaches the main process: the channel's guarded handler over the services and the save dialogs. */
const call = (method: RequestMethod, payload: unknown, context: RecordingContext): Promise<Result<unknown>> =>
  ipcHandler(method, apiHandlers(context.services, saveDialogCalls(context.services, context.dialogs)), policy, () => undefined)(ownEvent, payload);

function start(edit: (request: Record<string, any>) => void = () => {}): unknown { // eslint-disable-line @typescript-eslint/no-explicit-any
  const request: Record<string, unknown> = {
    content: { name: 'photo.png', bytes: png },
    styles: [{ image: { name: 'starry.png', bytes: png }, blend: 1 }],
    settings: structuredClone(DEFAULT_STUDIO_SETTINGS),
  };
  edit(request);
  return request;
}

/** Nested arrays `depth` deep, built without recursion. */
function deeplyNested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

interface PayloadRow {
  name: string;
  method: RequestMethod;
  payload: () => unknown;
  message: RegExp;
}

export const PAYLOAD_ROWS: readonly PayloadRow[] = [
  { name: 'a __proto__ key from JSON (prototype pollution)', method: 'startRun', payload: () => Object.assign(JSON.parse('{"__proto__": {"polluted": true}}') as object, start() as object), message: /^startRun\.__proto__ is not a known field/ },
  { name: 'a Proxy whose every trap throws', method: 'startRun', payload: () => new Proxy({}, { get: () => { throw new Error('trap'); }, ownKeys: () => { throw new Error('trap'); }, getOwnPropertyDescriptor: () => { throw new Error('trap'); } }), message: /^startRun could not be read: trap/ },
  { name: 'a getter that throws an object whose toString throws', method: 'startRun', payload: () => Object.defineProperty(start() as object, 'settings', { enumerable: true, get: () => { throw { toString: () => { throw new Error('again'); } }; } }), message: /^startRun could not be read: a value that cannot be described/ },
  { name: 'a getter that throws a megabyte of lines', method: 'saveSettings', payload: () => Object.defineProperty({}, 'sizePx', { enumerable: true, get: () => { throw new Error('line\n'.repeat(200_000)); } }), message: /^saveSettings could not be read: line\\u000aline/ },
  { name: 'content 100,000 arrays deep', method: 'startRun', payload: () => start((r) => (r.content = deeplyNested(100_000))), message: /^startRun\.content\.name is missing/ },
  { name: 'bytes as an ArrayBuffer', method: 'startRun', payload: () => start((r) => (r.content.bytes = new ArrayBuffer(8))), message: /^startRun\.content\.bytes must be a Uint8Array/ },
  { name: 'bytes as a DataView', method: 'startRun', payload: () => start((r) => (r.content.bytes = new DataView(new ArrayBuffer(8)))), message: /^startRun\.content\.bytes must be a Uint8Array/ },
  { name: 'an image name of 2,000 characters', method: 'startRun', payload: () => start((r) => (r.content.name = 'x'.repeat(2000))), message: /^startRun\.content\.name must be at most 1024 characters/ },
  { name: 'an image name that is not a string', method: 'startRun', payload: () => start((r) => (r.styles[0].image.name = { toString: () => 'evil' })), message: /^startRun\.styles\.0\.image\.name must be a string/ },
  { name: 'styles as an array-like object', method: 'startRun', payload: () => start((r) => (r.styles = { length: 1, 0: r.styles[0] })), message: /^startRun\.styles must be an array of style images/ },
  { name: 'sizePx 10^6', method: 'startRun', payload: () => start((r) => (r.settings.sizePx = 1e6)), message: /^startRun\.settings\.sizePx must be at most 4096 \(received 1000000\)/ },
  { name: 'sizePx 0', method: 'startRun', payload: () => start((r) => (r.settings.sizePx = 0)), message: /^startRun\.settings\.sizePx must be at least 16/ },
  { name: 'sizePx NaN', method: 'startRun', payload: () => start((r) => (r.settings.sizePx = Number.NaN)), message: /^startRun\.settings\.sizePx must be a number/ },
  { name: 'infinite iterations', method: 'startRun', payload: () => start((r) => (r.settings.iterations = Number.POSITIVE_INFINITY)), message: /^startRun\.settings\.iterations must be a whole number/ },
  { name: 'a negative learning rate', method: 'startRun', payload: () => start((r) => (r.settings.learningRate = -1)), message: /^startRun\.settings\.learningRate must be above 0/ },
  { name: 'a NaN content weight', method: 'startRun', payload: () => start((r) => (r.settings.contentWeight = Number.NaN)), message: /^startRun\.settings\.contentWeight must be a number/ },
  { name: 'an infinite TV weight', method: 'startRun', payload: () => start((r) => (r.settings.tvWeight = Number.POSITIVE_INFINITY)), message: /^startRun\.settings\.tvWeight must be finite/ },
  { name: 'a NaN layer weight', method: 'startRun', payload: () => start((r) => (r.settings.layers.block3_conv1.styleWeight = Number.NaN)), message: /^startRun\.settings\.layers\.block3_conv1\.styleWeight must be a number/ },
  { name: 'a layer named constructor', method: 'startRun', payload: () => start((r) => (r.settings.layers.constructor = { style: true, styleWeight: 1, content: false })), message: /^startRun\.settings\.layers\.constructor is not a known field/ },
  { name: 'an unknown layer', method: 'startRun', payload: () => start((r) => (r.settings.layers.block5_conv5 = { style: true, styleWeight: 1, content: false })), message: /^startRun\.settings\.layers\.block5_conv5 is not a known field/ },
  { name: 'a BigInt seed', method: 'startRun', payload: () => start((r) => (r.settings.seed = 1n)), message: /^startRun\.settings\.seed must be a number/ },
  { name: 'a timelapse every 0 iterations', method: 'startRun', payload: () => start((r) => (r.timelapse = { frameEvery: 0 })), message: /^startRun\.timelapse\.frameEvery must be at least 1/ },
  { name: 'an output path smuggled into a run', method: 'startRun', payload: () => start((r) => (r.output = '/home/artist/.bashrc')), message: /^startRun\.output is not a known field/ },
  { name: 'a run id with a trailing newline', method: 'pauseRun', payload: () => ({ runId: 'run-1-abcd\n' }), message: /^pauseRun\.runId is not a run id/ },
  { name: 'a run id climbing folders', method: 'stopRun', payload: () => ({ runId: 'run-../../etc' }), message: /^stopRun\.runId is not a run id/ },
  { name: 'an export at 100,000 px', method: 'exportImage', payload: () => ({ runId: 'run-1-abcd', format: 'png', sizePx: 100_000 }), message: /^exportImage\.sizePx must be at most 8192/ },
  { name: 'an export as SVG', method: 'exportImage', payload: () => ({ runId: 'run-1-abcd', format: 'svg', sizePx: null }), message: /^exportImage\.format must be png or jpeg/ },
  { name: 'an export with its own target path', method: 'exportImage', payload: () => ({ runId: 'run-1-abcd', format: 'png', sizePx: null, filePath: '/etc/passwd' }), message: /^exportImage\.filePath is not a known field/ },
  { name: 'a video at 0 fps', method: 'exportVideo', payload: () => ({ runId: 'run-1-abcd', format: 'mp4', fps: 0, holdFinalSeconds: 0, sideBySide: false, caption: false }), message: /^exportVideo\.fps must be ≥ 0\.5/ },
  { name: 'a video with its own output path', method: 'exportVideo', payload: () => ({ runId: 'run-1-abcd', format: 'gif', fps: 10, holdFinalSeconds: 0, sideBySide: false, caption: false, output: '/tmp/x.gif' }), message: /^exportVideo\.output is not a known field/ },
  { name: 'a javascript: weights URL', method: 'fetchWeights', payload: () => ({ url: 'javascript:alert(1)' }), message: /^fetchWeights\.url must be an http:\/\/ or https:\/\/ address/ },
  { name: 'a weights import of 65 files', method: 'importWeights', payload: () => ({ files: Array.from({ length: 65 }, (_, i) => ({ name: `s${i}.bin`, bytes: png })) }), message: /^importWeights\.files must hold at most 64 files/ },
  { name: 'a weights import with a NaN for bytes', method: 'importWeights', payload: () => ({ files: [{ name: 'vgg19.h5', bytes: Number.NaN }] }), message: /^importWeights\.files\.0\.bytes must be a Uint8Array/ },
  { name: 'an ffmpeg to run, in the video settings', method: 'saveVideoSettings', payload: () => ({ ...DEFAULT_VIDEO_SETTINGS, ffmpegPath: '/bin/sh' }), message: /^saveVideoSettings\.ffmpegPath is not a known field/ },
  { name: 'an ffmpeg to run, instead of the open dialog', method: 'chooseFfmpeg', payload: () => ({ reset: false, path: '/root/.ssh/id_rsa' }), message: /^chooseFfmpeg\.path is not a known field/ },
  { name: 'settings for a device that does not exist', method: 'saveSettings', payload: () => ({ ...structuredClone(DEFAULT_STUDIO_SETTINGS), device: 'tpu' }), message: /^saveSettings\.device must be auto, cpu/ },
];

describe('malformed IPC payloads: BAD_REQUEST naming the field, and nothing reached', () => {
  it.each(PAYLOAD_ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const context = recordingContext();
    const result = await call(row.method, row.payload(), context);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('BAD_REQUEST');
    expect(result.error.message).toMatch(row.message);
    expect(result.error.message, 'one bounded line, whatever the payload held').toMatch(/^[^\n]{1,600}$/);
    expect(context.calls, 'no service, dialog or write').toEqual([]);
    expect(({} as Record<string, unknown>)['polluted'], 'Object.prototype untouched').toBeUndefined();
  });
});

// --- hostile bytes in well-formed payloads, through the real services -----------------------------------------

const haveWeights = hasShared('data', 'vgg19-imagenet-uint8');

interface RunRow {
  name: string;
  request: () => Promise<StartRunRequest>;
  code: string;
  message: RegExp;
  /** Gets past image decoding, so it needs real weights. */
  needsWeights?: boolean;
}

async function goodPng(width: number, height: number): Promise<Uint8Array> {
  const image = noiseImage(width, height, width + height);
  const hwc = Buffer.alloc(width * height * 3);
  for (let c = 0; c < 3; c++) for (let p = 0; p < width * height; p++) hwc[p * 3 + c] = Math.round(image.data[c * width * height + p]!);
  return new Uint8Array(await sharp(hwc, { raw: { width, height, channels: 3 } }).png().toBuffer());
}

async function runRequest(content: { name: string; bytes: Uint8Array }, style?: { name: string; bytes: Uint8Array }, sizePx = 64): Promise<StartRunRequest> {
  return {
    content,
    styles: [{ image: style ?? { name: 'style.png', bytes: await goodPng(64, 64) }, blend: 1 }],
    settings: testSettings({ iterations: 1, sizePx }),
    timelapse: null,
  };
}

export const RUN_ROWS: readonly RunRow[] = [
  { name: 'a 50,000 x 50,000 PNG bomb dropped as content', request: async () => runRequest({ name: 'bomb.png', bytes: pngBomb(50_000, 50_000) }), code: 'IMAGE_TOO_LARGE', message: /bomb\.png is 50000x50000: more than the 100,000,000 pixels allowed/ },
  { name: 'a JPEG bomb dropped as a style', request: async () => runRequest({ name: 'photo.png', bytes: await goodPng(64, 64) }, { name: 'huge.jpg', bytes: await jpegBomb(65_000, 65_000) }), code: 'IMAGE_TOO_LARGE', message: /huge\.jpg is 65000x65000/ },
  { name: 'an SVG bomb', request: async () => runRequest({ name: 'vector.svg', bytes: svgBomb(200_000, 200_000) }), code: 'IMAGE_TOO_LARGE', message: /vector\.svg is 200000x200000/ },
  { name: 'a PNG cut in half', request: async () => runRequest({ name: 'half.png', bytes: truncated(await goodPng(64, 64), 0.5) }), code: 'NOT_AN_IMAGE', message: /half\.png is not an image that can be decoded/ },
  { name: 'a JPEG cut to its header', request: async () => runRequest({ name: 'cut.jpg', bytes: truncated(await solid(64, 64).jpeg().toBuffer(), 0.3) }), code: 'NOT_AN_IMAGE', message: /cut\.jpg is not an image that can be decoded/ },
  { name: 'an HTML page named .webp', request: async () => runRequest({ name: 'page.webp', bytes: new TextEncoder().encode('<!doctype html><script>alert(1)</script>') }), code: 'NOT_AN_IMAGE', message: /page\.webp is not an image that can be decoded/ },
  { name: 'a name with unicode, spaces and path separators', request: async () => runRequest({ name: '../../Фото 🎨 été.png', bytes: new TextEncoder().encode('nope') }), code: 'NOT_AN_IMAGE', message: /\.\.\/\.\.\/Фото 🎨 été\.png is not an image/ },
  { name: 'a 2000 x 20 panorama at 384 px (384 x 4)', request: async () => runRequest({ name: 'panorama.png', bytes: await goodPng(2000, 20) }, undefined, 384), code: 'IMAGE_TOO_SMALL', message: /384x4 px, but layer block5_conv1 needs at least 16 px/, needsWeights: true },
];

describe('hostile image bytes in a well-formed startRun: the run ends with an error event carrying the code', () => {
  let service: RunService;
  let log: EventLog;
  beforeAll(() => {
    // Decoding comes before the weights are read, so the image rows need no weights.
    service = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: haveWeights ? WEIGHTS_DIR : '/no/weights/needed' }), threads: 1 });
    log = new EventLog(service);
  });
  afterAll(async () => {
    log?.unsubscribe();
    await service?.dispose();
  });

  for (const row of RUN_ROWS) {
    const skip = row.needsWeights === true && !haveWeights;
    it.skipIf(skip)(`${row.name}${skip ? ' (skipped: ../shared/data/vgg19-imagenet-uint8 absent)' : ''}`, async () => {
      const started = await service.startRun(await row.request());
      expect(started.ok).toBe(true);
      if (!started.ok) return;
      const end = (await log.end(started.value.runId, 60_000)) as Extract<RunEvent, { type: 'error' }>;
      expect(end.type).toBe('error');
      expect(end.error.code).toBe(row.code);
      expect(end.error.message).toMatch(row.message);
      expect(log.of(started.value.runId).some((e) => e.type === 'progress'), 'no iteration ran').toBe(false);
    }, 90_000);
  }
});

interface ImportRow {
  name: string;
  files: (dir: string) => Promise<{ name: string; bytes: Uint8Array }[]>;
  code: string;
  message: RegExp;
  /** Refused at once, not after blocking on what it names (a FIFO's watchdog releases a blocked reader at 8 s). */
  withinMs?: number;
  /** Needs mkfifo (POSIX). */
  posix?: boolean;
}

const watchdogs: ChildProcess[] = [];

/**
 * A FIFO `dir/name`, and a process that opens it for writing after 8 s: a reader the import left blocked is released
 * then, so a regression fails on time (withinMs) instead of hanging the run (an HDF5 open blocks the event loop).
 */
function fifoWithWatchdog(dir: string, name: string): string {
  const fifo = path.join(dir, name);
  execFileSync('mkfifo', [fifo]);
  watchdogs.push(spawn('sh', ['-c', `sleep 8; exec 3>"$0"`, fifo], { stdio: 'ignore' }));
  return fifo;
}

const manifestNaming = (shard: string) =>
  new TextEncoder().encode(JSON.stringify({ weightsManifest: [{ paths: [shard], weights: [{ name: 'block1_conv1/kernel', shape: [3, 3, 3, 64], dtype: 'float32' }] }] }));

async function folderFiles(folder: string): Promise<{ name: string; bytes: Uint8Array }[]> {
  const names = await readdir(folder);
  return Promise.all(names.map(async (name) => ({ name, bytes: new Uint8Array(await readFile(path.join(folder, name))) })));
}

export const IMPORT_ROWS: readonly ImportRow[] = [
  { name: 'a Keras .h5 with an infinite bias', files: async (dir) => [{ name: 'vgg19.h5', bytes: await readFile(await writeKerasH5(path.join(dir, 'inf.h5'), poisoned('block1_conv1', 'bias', Number.POSITIVE_INFINITY))) }], code: 'BAD_WEIGHTS', message: /^Not imported: .*block1_conv1 .*non-finite bias value \(Infinity/ },
  { name: 'a TF.js model with a NaN kernel', files: async (dir) => folderFiles(await tfjsFolder(dir, 'nan', poisoned('block1_conv2', 'kernel', Number.NaN))), code: 'BAD_WEIGHTS', message: /^Not imported: .*block1_conv2 .*non-finite kernel value \(NaN/ },
  { name: 'a 7 KB .h5 declaring a 21.6 GB kernel', files: async (dir) => [{ name: 'vgg19.h5', bytes: await readFile(await h5Bomb(dir, 'bomb.h5')) }], code: 'BAD_WEIGHTS', message: /^Not imported: .*more values than any VGG19 layer holds/ },
  { name: 'an .h5 with a link cycle', files: async (dir) => [{ name: 'vgg19.h5', bytes: await readFile(await h5LinkCycle(dir, 'cycle.h5', 'hard')) }], code: 'BAD_WEIGHTS', message: /nests groups deeper than Keras writes them/ },
  { name: 'ResNet weights', files: async (dir) => [{ name: 'resnet50.h5', bytes: await readFile(await resnetH5(dir, 'resnet.h5')) }], code: 'BAD_WEIGHTS', message: /no VGG19 layer groups/ },
  { name: 'a photo dropped as weights', files: async () => [{ name: 'holiday.h5', bytes: await goodPng(16, 16) }], code: 'BAD_WEIGHTS', message: /holiday\.h5 is not an HDF5 file/ },
  {
    name: 'a model.json whose shard reaches outside the drop (../../../etc/passwd)',
    files: async () => [{ name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify({ weightsManifest: [{ paths: ['../../../etc/passwd'], weights: [{ name: 'block1_conv1/kernel', shape: [3, 3, 3, 64], dtype: 'float32' }] }] })) }],
    code: 'BAD_WEIGHTS',
    message: /names the weight shard "\.\.\/\.\.\/\.\.\/etc\/passwd" outside its own folder/,
  },
  { name: 'a model.json whose shard is /dev/zero (never read: it would hash forever)', files: async () => [{ name: 'model.json', bytes: manifestNaming('/dev/zero') }], code: 'BAD_WEIGHTS', message: /names the weight shard "\/dev\/zero" outside its own folder/, withinMs: 5000 },
  { name: 'a model.json whose shard is a FIFO outside the drop (never opened)', files: async (dir) => [{ name: 'model.json', bytes: manifestNaming(fifoWithWatchdog(dir, 'shard-fifo')) }], code: 'BAD_WEIGHTS', message: /names the weight shard ".*shard-fifo" outside its own folder/, withinMs: 5000, posix: true },
  { name: 'an .h5 whose layer group is an external link to a FIFO', files: async (dir) => [{ name: 'vgg19.h5', bytes: await readFile(await h5ExternalLink(dir, 'ext-root.h5', fifoWithWatchdog(dir, 'h5-fifo-root'), 'root')) }], code: 'BAD_WEIGHTS', message: /\/block1_conv1 is a link to another file \(".*h5-fifo-root"\)/, withinMs: 5000, posix: true },
  { name: 'an .h5 with an external link to a FIFO inside a layer group', files: async (dir) => [{ name: 'vgg19.h5', bytes: await readFile(await h5ExternalLink(dir, 'ext-nested.h5', fifoWithWatchdog(dir, 'h5-fifo-nested'), 'nested')) }], code: 'BAD_WEIGHTS', message: /\/block1_conv1\/block1_conv1 is a link to another file/, withinMs: 5000, posix: true },
  { name: 'two dropped files with one name', files: async () => [{ name: 'a/model.json', bytes: png }, { name: 'b/model.json', bytes: png }], code: 'BAD_ARGUMENT', message: /Two dropped files are both named model\.json/ },
];

describe('hostile weights dropped into the Model panel: refused with the code, nothing installed, no scratch left', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nst hostile import ü '));
  });
  afterAll(async () => {
    for (const watchdog of watchdogs) watchdog.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(IMPORT_ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    if (row.posix && process.platform === 'win32') return; // no FIFOs to make
    const root = await mkdtemp(path.join(dir, 'data-'));
    const service = new WeightsService({ root });
    const files = await row.files(dir);
    const started = performance.now();
    const result = await service.importFromFiles({ files });
    if (row.withinMs !== undefined) expect(performance.now() - started, 'refused at once').toBeLessThan(row.withinMs);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(row.code);
    expect(result.error.message).toMatch(row.message);
    const status = await service.status();
    expect(status.ok && status.value.installed).toBe(false);
    const left = await readdir(root, { recursive: true });
    expect(left.filter((name) => /import-|\.tmp$/.test(String(name))), 'no scratch or temporary files').toEqual([]);
  });
});

describe('exports write only where the save dialog said', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nst hostile export ü '));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cases = [
    { method: 'exportImage' as const, payload: { runId: 'run-1-abcd', format: 'png', sizePx: null }, existing: 'painting.png' },
    { method: 'exportVideo' as const, payload: { runId: 'run-1-abcd', format: 'mp4', fps: 10, holdFinalSeconds: 0, sideBySide: false, caption: false }, existing: 'painting.mp4' },
  ];
  it.each(cases)('$method: a name typed without its extension never replaces the existing $existing unasked', async ({ method, payload, existing }) => {
    const keep = path.join(dir, existing);
    await writeFile(keep, 'the user\'s own file');
    const context = recordingContext();
    context.dialogs.chooseSavePath = async () => path.join(dir, 'painting'); // the dialog confirmed "painting", not the file beside it
    const result = await call(method, payload, context);
    expect(result).toMatchObject({ ok: false, error: { code: 'EXPORT_FAILED', message: expect.stringMatching(new RegExp(`^${existing.replace('.', '\\.')} already exists and the save dialog did not ask to replace it`)) } });
    expect(await readFile(keep, 'utf8')).toBe('the user\'s own file');
    expect(context.calls.filter((c) => c !== 'hasVideoFrames'), 'nothing rendered or written').toEqual([]);
  });
});

describe('the IPC hostile tables together', () => {
  it('have at least 40 rows', () => {
    expect(PAYLOAD_ROWS.length + RUN_ROWS.length + IMPORT_ROWS.length).toBeGreaterThanOrEqual(40);
  });
});
