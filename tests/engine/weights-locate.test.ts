// Which VGG19 weights a run uses: a path given (--weights, NST_WEIGHTS, the studio's setting), a file dropped in the
// studio's weights folder, the installed ones, then the built-in uint8 weights shipped in resources/weights.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtInWeightsFolder, locateWeights } from '../../src/engine/weights/locate.js';
import { writeConvertedWeights } from '../../src/engine/weights/store.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { appInfoWeights, availableDevices } from '../../src/main/services/app-info.js';
import { REPO_ROOT } from '../helpers/shared-data.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-weights-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('locateWeights', () => {
  it('prefers the argument, then NST_WEIGHTS, then the settings path, then a dropped file, then the installed, then the built-in', async () => {
    const a = path.join(dir, 'a.h5');
    const b = path.join(dir, 'b.onnx');
    const c = path.join(dir, 'c');
    const drop = path.join(dir, 'drop');
    const store = path.join(dir, 'store');
    const builtIn = path.join(dir, 'builtin');
    await Promise.all([writeFile(a, 'x'), writeFile(b, 'x'), mkdir(c), mkdir(drop)]);
    const d = path.join(drop, 'vgg19-7.onnx');
    await writeFile(d, 'x');
    const base = { storeRoot: store, builtIn };

    expect(await locateWeights({ ...base, argument: { path: a, label: '--weights' }, env: { NST_WEIGHTS: b }, settingsPath: c, dropFolder: drop })).toEqual({ path: a, origin: 'argument', source: `${a} (from --weights)` });
    expect(await locateWeights({ ...base, env: { NST_WEIGHTS: b }, settingsPath: c, dropFolder: drop })).toMatchObject({ path: b, origin: 'environment' });
    expect(await locateWeights({ ...base, env: {}, settingsPath: c, dropFolder: drop })).toMatchObject({ path: c, origin: 'settings' });
    expect(await locateWeights({ ...base, env: {}, dropFolder: drop })).toMatchObject({ path: d, origin: 'folder', source: d });
    expect(await locateWeights({ ...base, env: {} })).toMatchObject({ path: builtIn, origin: 'builtin' });
    await writeConvertedWeights(randomVgg19Weights({ seed: 1, depth: 2 }), { kind: 'import', source: 'test', format: 'converted', files: [], date: new Date().toISOString() }, store);
    expect(await locateWeights({ ...base, env: {} })).toMatchObject({ path: path.join(store, 'weights'), origin: 'installed' });
  });

  it('says what is wrong when a named source leads nowhere, and how to get weights when there are none at all', async () => {
    const missing = await locateWeights({ env: { NST_WEIGHTS: path.join(dir, 'gone.h5') }, storeRoot: dir });
    expect(missing).toMatchObject({ path: null, help: expect.stringMatching(/^NST_WEIGHTS points to .*gone\.h5, which does not exist\./) });
    const none = await locateWeights({ env: {}, storeRoot: dir, builtIn: null });
    expect(none.path).toBeNull();
    expect(appInfoWeights(none)).toEqual({ source: null, help: expect.stringContaining('nst weights fetch') });
  });

  it('finds the built-in weights shipped in the checkout (resources/weights)', () => {
    expect(builtInWeightsFolder()).toBe(path.join(REPO_ROOT, 'resources', 'weights'));
  });

  it('offers auto and cpu on every platform', () => {
    expect(availableDevices().slice(0, 2)).toEqual(['auto', 'cpu']);
  });
});
