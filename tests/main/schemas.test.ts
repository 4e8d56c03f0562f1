// The IPC payload schemas: well-formed requests pass untouched; malformed ones come back as BAD_REQUEST data
// naming the field at fault, and nothing throws.

import { describe, expect, it } from 'vitest';
import { REQUEST_METHODS, type RequestMethod } from '../../src/shared/api.js';
import { MAX_IMAGE_BYTES, REQUEST_SCHEMAS, STOP_TOLERANCE_RANGE, validateRequest } from '../../src/shared/schemas.js';
import { STOP_TOLERANCE_RANGE as ENGINE_STOP_TOLERANCE_RANGE } from '../../src/engine/render/convergence.js';
import { DEFAULT_STUDIO_SETTINGS, LAYER_NAMES, LAYER_PRESETS, applyPreset } from '../../src/shared/studio-settings.js';
import { VGG19_LAYER_NAMES } from '../../src/engine/model/vgg19.js';

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

function goodRequest(): Record<string, unknown> {
  return {
    content: { name: 'photo.png', bytes: png },
    styles: [{ image: { name: 'starry.jpg', bytes: png }, blend: 1 }],
    settings: structuredClone(DEFAULT_STUDIO_SETTINGS),
  };
}

/** A deep copy of the good request with one change made by `edit`. */
function mutate(edit: (r: Record<string, any>) => void): unknown { // eslint-disable-line @typescript-eslint/no-explicit-any
  const request = goodRequest();
  // structuredClone keeps Uint8Arrays as Uint8Arrays.
  const copy = structuredClone(request);
  edit(copy);
  return copy;
}

describe('startRun payloads', () => {
  it('accepts a well-formed request, every preset, and up to 8 blended styles', () => {
    expect(validateRequest('startRun', goodRequest())).toEqual({ ok: true, value: goodRequest() });
    for (const preset of LAYER_PRESETS) {
      expect(validateRequest('startRun', { ...goodRequest(), settings: applyPreset(DEFAULT_STUDIO_SETTINGS, preset.id) }).ok).toBe(true);
    }
    const eight = mutate((r) => (r.styles = Array.from({ length: 8 }, (_, i) => ({ image: { name: `s${i}`, bytes: png }, blend: i }))));
    expect(validateRequest('startRun', eight).ok).toBe(true);
    // A Node Buffer is a Uint8Array, as are the bytes Electron's structured clone delivers.
    expect(validateRequest('startRun', mutate((r) => (r.content.bytes = Buffer.from(png)))).ok).toBe(true);
  });

  it('keeps the schema\'s 16 layer names equal to the engine\'s VGG19 table', () => {
    expect(LAYER_NAMES).toEqual(VGG19_LAYER_NAMES);
  });

  it('settings saved before the adaptive stop take its default (a checkpoint\'s job says off itself: studio-job.test.ts)', () => {
    expect(ENGINE_STOP_TOLERANCE_RANGE).toEqual(STOP_TOLERANCE_RANGE);
    const older: Partial<typeof DEFAULT_STUDIO_SETTINGS> = structuredClone(DEFAULT_STUDIO_SETTINGS);
    delete older.stop;
    delete older.stopTolerance;
    const result = validateRequest('startRun', { ...goodRequest(), settings: older });
    expect(result.ok && result.value.settings).toMatchObject({ stop: 'auto', stopTolerance: 1 });
    const tooTight = validateRequest('startRun', mutate((r) => ((r.settings as Record<string, unknown>).stopTolerance = 0.01)));
    expect(!tooTight.ok && tooTight.error.message).toMatch(/^startRun\.settings\.stopTolerance must be at least 0\.05/);
  });

  const huge = new Uint8Array(MAX_IMAGE_BYTES + 1);
  const cases: [string, unknown, RegExp][] = [
    ['no payload at all', undefined, /^startRun must be an object \{content, styles, settings\}/],
    ['a string payload', 'run please', /^startRun must be an object/],
    ['a missing content image', mutate((r) => delete r.content), /^startRun\.content is missing/],
    ['a missing settings object', mutate((r) => delete r.settings), /^startRun\.settings is missing/],
    ['bytes as a plain array', mutate((r) => (r.content.bytes = [137, 80, 78, 71])), /^startRun\.content\.bytes must be a Uint8Array/],
    ['bytes as a base64 string', mutate((r) => (r.content.bytes = 'iVBORw0KGgo=')), /^startRun\.content\.bytes must be a Uint8Array/],
    ['bytes as a Float32Array', mutate((r) => (r.content.bytes = new Float32Array(4))), /^startRun\.content\.bytes must be a Uint8Array/],
    ['zero-byte image', mutate((r) => (r.styles[0].image.bytes = new Uint8Array(0))), /^startRun\.styles\.0\.image\.bytes is empty \(0 bytes\)/],
    ['an image over the size limit', mutate((r) => (r.content.bytes = huge)), /^startRun\.content\.bytes is larger than 200 MB/],
    ['no style images', mutate((r) => (r.styles = [])), /^startRun\.styles must hold at least one style image/],
    ['nine style images', mutate((r) => (r.styles = Array.from({ length: 9 }, () => ({ image: { name: 's', bytes: png }, blend: 1 })))), /^startRun\.styles must hold at most 8/],
    ['a huge styles array', mutate((r) => (r.styles = new Array(100_000).fill({ image: { name: 's', bytes: png }, blend: 1 }))), /^startRun\.styles must hold at most 8/],
    ['a negative blend', mutate((r) => (r.styles[0].blend = -1)), /^startRun\.styles\.0\.blend must be ≥ 0/],
    ['an infinite blend', mutate((r) => (r.styles[0].blend = Infinity)), /^startRun\.styles\.0\.blend must be finite/],
    ['blend weights all zero', mutate((r) => (r.styles[0].blend = 0)), /^startRun\.styles blend weights must not all be 0/],
    ['a NaN blend', mutate((r) => (r.styles[0].blend = NaN)), /^startRun\.styles\.0\.blend must be a number/],
    ['sizePx below 16', mutate((r) => (r.settings.sizePx = 8)), /^startRun\.settings\.sizePx must be at least 16 \(received 8\)/],
    ['sizePx above 4096', mutate((r) => (r.settings.sizePx = 5000)), /^startRun\.settings\.sizePx must be at most 4096/],
    ['a fractional sizePx', mutate((r) => (r.settings.sizePx = 100.5)), /^startRun\.settings\.sizePx must be a whole number/],
    ['sizePx as a string', mutate((r) => (r.settings.sizePx = '384')), /^startRun\.settings\.sizePx must be a number \(received "384"\)/],
    ['zero iterations', mutate((r) => (r.settings.iterations = 0)), /^startRun\.settings\.iterations must be at least 1/],
    ['an unknown optimizer', mutate((r) => (r.settings.optimizer = 'sgd')), /^startRun\.settings\.optimizer must be gd, adam or lbfgs/],
    ['a zero learning rate', mutate((r) => (r.settings.learningRate = 0)), /^startRun\.settings\.learningRate must be above 0/],
    ['a negative style weight', mutate((r) => (r.settings.styleWeight = -0.5)), /^startRun\.settings\.styleWeight must be ≥ 0/],
    ['an unsafe seed', mutate((r) => (r.settings.seed = 2 ** 60)), /^startRun\.settings\.seed must be a whole number/],
    ['an unknown device', mutate((r) => (r.settings.device = 'tpu')), /^startRun\.settings\.device must be auto, cpu/],
    ['an unknown layer key', mutate((r) => (r.settings.layers.block6_conv1 = { style: true, styleWeight: 1, content: false })), /^startRun\.settings\.layers\.block6_conv1 is not a known field/],
    ['a missing layer', mutate((r) => delete r.settings.layers.block3_conv2), /^startRun\.settings\.layers\.block3_conv2 is missing/],
    ['a layer toggle as a string', mutate((r) => (r.settings.layers.block1_conv1.style = 'yes')), /^startRun\.settings\.layers\.block1_conv1\.style must be true or false/],
    ['a negative layer weight', mutate((r) => (r.settings.layers.block2_conv1.styleWeight = -1)), /^startRun\.settings\.layers\.block2_conv1\.styleWeight must be ≥ 0/],
    ['every layer off', mutate((r) => { for (const name of LAYER_NAMES) r.settings.layers[name] = { style: false, styleWeight: 1, content: false }; }), /^startRun\.settings\.layers must turn on at least one/],
    ['extra nested garbage', mutate((r) => (r.settings.layers.block1_conv1.shader = { code: 'x'.repeat(10) })), /^startRun\.settings\.layers\.block1_conv1\.shader is not a known field/],
    ['an extra top-level field', mutate((r) => (r.outputPath = '/etc/passwd')), /^startRun\.outputPath is not a known field/],
    ['a path instead of an image', mutate((r) => (r.content = '/home/user/photo.jpg')), /^startRun\.content must be an object \{name, bytes\}/],
    ['a null settings', mutate((r) => (r.settings = null)), /^startRun\.settings must be a settings object/],
  ];

  it.each(cases)('rejects %s with BAD_REQUEST naming the field', (_label, payload, message) => {
    const result = validateRequest('startRun', payload);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('BAD_REQUEST');
    expect(result.error.message).toMatch(message);
  });

  it('turns a payload whose getters throw into BAD_REQUEST, not an exception', () => {
    const hostile = goodRequest();
    Object.defineProperty(hostile, 'settings', { enumerable: true, get: () => { throw new Error('gotcha'); } });
    const result = validateRequest('startRun', hostile);
    expect(result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});

describe('the other channels\' payloads', () => {
  it('run refs must carry a run id the service could have issued', () => {
    expect(validateRequest('pauseRun', { runId: 'run-1-abcdef01' }).ok).toBe(true);
    expect(validateRequest('pauseRun', { runId: '../../etc' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^pauseRun\.runId is not a run id/) } });
    expect(validateRequest('pauseRun', { runId: 7 })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^pauseRun\.runId must be a string/) } });
    expect(validateRequest('pauseRun', {})).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^pauseRun\.runId is missing/) } });
  });

  it('updateRunSettings carries a run id and full settings', () => {
    expect(validateRequest('updateRunSettings', { runId: 'run-2-ff', settings: DEFAULT_STUDIO_SETTINGS }).ok).toBe(true);
    const bad = validateRequest('updateRunSettings', { runId: 'run-2-ff', settings: { ...DEFAULT_STUDIO_SETTINGS, tvWeight: -1 } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^updateRunSettings\.settings\.tvWeight must be ≥ 0/) } });
  });

  it('exportImage takes png or jpeg and a size or null', () => {
    expect(validateRequest('exportImage', { runId: 'run-1-a', format: 'png', sizePx: null }).ok).toBe(true);
    expect(validateRequest('exportImage', { runId: 'run-1-a', format: 'jpeg', sizePx: 2048 }).ok).toBe(true);
    expect(validateRequest('exportImage', { runId: 'run-1-a', format: 'gif', sizePx: null })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/format must be png or jpeg/) } });
    expect(validateRequest('exportImage', { runId: 'run-1-a', format: 'png', sizePx: 0 })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/sizePx must be at least 16/) } });
    expect(validateRequest('exportImage', { runId: 'run-1-a', format: 'png' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/sizePx is missing/) } });
  });

  it('saveSettings validates the settings; no-payload calls take only undefined or null', () => {
    expect(validateRequest('saveSettings', DEFAULT_STUDIO_SETTINGS).ok).toBe(true);
    expect(validateRequest('saveSettings', { ...DEFAULT_STUDIO_SETTINGS, pool: 'min' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^saveSettings\.pool must be max or avg/) } });
    expect(validateRequest('getSettings', undefined).ok).toBe(true);
    expect(validateRequest('getSettings', null).ok).toBe(true);
    expect(validateRequest('getSettings', { sneaky: true }).ok).toBe(false);
  });

  it('has a schema for every call that takes a payload; every other call takes none', () => {
    const withSchema = Object.keys(REQUEST_SCHEMAS) as RequestMethod[];
    expect(REQUEST_METHODS).toEqual(expect.arrayContaining(withSchema));
    for (const method of REQUEST_METHODS.filter((m) => !withSchema.includes(m))) {
      expect(validateRequest(method, undefined).ok, method).toBe(true);
      expect(validateRequest(method, { sneaky: true }), method).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: `${method} takes no payload.` } });
    }
  });
});

describe('masks (startRun.masks, setRunMasks)', () => {
  const set = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({ width: 2, height: 2, styles: [new Uint8Array([255, 0, 255, 0])], content: null, ...overrides });
  const start = (masks: unknown): unknown => ({ ...goodRequest(), masks });
  const refused = (method: 'startRun' | 'setRunMasks', payload: unknown): string => {
    const result = validateRequest(method, payload);
    if (result.ok) throw new Error(`${method} accepted ${JSON.stringify(payload)}`);
    expect(result.error.code).toBe('BAD_REQUEST');
    return result.error.message;
  };

  it('accepts one mask per style image (or none) and a content mask, absent or null for no masks', () => {
    expect(validateRequest('startRun', start(set()))).toEqual({ ok: true, value: start(set()) });
    expect(validateRequest('startRun', start(set({ styles: [], content: new Uint8Array(4).fill(9) }))).ok).toBe(true);
    expect(validateRequest('startRun', start(null)).ok).toBe(true);
    expect(validateRequest('setRunMasks', { runId: 'run-1-ab', masks: set() }).ok).toBe(true);
    expect(validateRequest('setRunMasks', { runId: 'run-1-ab', masks: null }).ok).toBe(true);
    // Black everywhere is the engine's to refuse, in its words, at the host (run-service-masks.test.ts).
    expect(validateRequest('startRun', start(set({ styles: [new Uint8Array(4)] }))).ok).toBe(true);
  });

  it('refuses a count that is not one per style image, naming it', () => {
    expect(refused('startRun', start(set({ styles: [new Uint8Array(4), new Uint8Array(4)] })))).toMatch(/^startRun\.masks\.styles must hold one mask per style image \(1\), in style order, or none/);
  });

  it('refuses masks whose bytes are not width × height, naming the mask', () => {
    expect(refused('startRun', start(set({ styles: [new Uint8Array(3)] })))).toMatch(/^startRun\.masks must hold width × height bytes in each mask \(style mask 1 holds 3; a 2x2 mask needs 4\)/);
    expect(refused('startRun', start(set({ content: new Uint8Array(5) })))).toMatch(/\(the content mask holds 5; a 2x2 mask needs 4\)/);
    expect(refused('setRunMasks', { runId: 'run-1-ab', masks: set({ width: 3 }) })).toMatch(/^setRunMasks\.masks must hold width × height bytes in each mask \(style mask 1 holds 4; a 3x2 mask needs 6\)/);
  });

  it('refuses anything but bytes 0..255, sizes that are not whole numbers from 1, and more pixels than a photo may have', () => {
    expect(refused('startRun', start(set({ styles: [new Float32Array(4)] })))).toMatch(/^startRun\.masks\.styles\.0 must be a Uint8Array of grey levels \(0\.\.255\)/);
    expect(refused('startRun', start(set({ styles: [[255, 0, 255, 0]] })))).toMatch(/^startRun\.masks\.styles\.0 must be a Uint8Array/);
    expect(refused('startRun', start(set({ content: new Uint16Array(4) })))).toMatch(/^startRun\.masks\.content must be a Uint8Array/);
    expect(refused('startRun', start(set({ width: 0 })))).toMatch(/^startRun\.masks\.width must be at least 1/);
    expect(refused('startRun', start(set({ height: 1.5 })))).toMatch(/^startRun\.masks\.height must be a whole number/);
    expect(refused('startRun', start(set({ width: 20_000, height: 20_000, styles: [] })))).toMatch(/^startRun\.masks must be at most 100000000 pixels/);
    expect(refused('startRun', start({ ...set(), extra: 1 }))).toMatch(/^startRun\.masks\.extra is not a known field/);
    expect(refused('setRunMasks', { runId: 'run-1-ab' })).toMatch(/^setRunMasks\.masks is missing/);
  });
});
