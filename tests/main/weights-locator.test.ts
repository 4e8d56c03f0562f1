// Where the studio finds the VGG19 weights: --weights, NST_WEIGHTS, the settings, then the app-data folder.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appInfoWeights, defaultWeightsDir, locateWeights } from '../../src/main/services/weights-locator.js';
import { availableDevices } from '../../src/main/services/app-info.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-weights-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('locateWeights', () => {
  it('prefers the argument, then NST_WEIGHTS, then the settings path, then the app-data folder', async () => {
    const a = path.join(dir, 'a.h5');
    const b = path.join(dir, 'b.onnx');
    const c = path.join(dir, 'c');
    await Promise.all([writeFile(a, 'x'), writeFile(b, 'x'), mkdir(c)]);
    await mkdir(defaultWeightsDir(dir), { recursive: true });
    const d = path.join(defaultWeightsDir(dir), 'vgg19-7.onnx');
    await writeFile(d, 'x');

    expect(await locateWeights({ argument: a, env: { NST_WEIGHTS: b }, settingsPath: c, dataDir: dir })).toEqual({ path: a, origin: 'argument', source: `${a} (from --weights)` });
    expect(await locateWeights({ env: { NST_WEIGHTS: b }, settingsPath: c, dataDir: dir })).toMatchObject({ path: b, origin: 'environment' });
    expect(await locateWeights({ env: {}, settingsPath: c, dataDir: dir })).toMatchObject({ path: c, origin: 'settings' });
    expect(await locateWeights({ env: {}, dataDir: dir })).toMatchObject({ path: d, origin: 'app-data', source: d });
  });

  it('says what is wrong when a named source leads nowhere, and how to get weights when there are none', async () => {
    const missing = await locateWeights({ env: { NST_WEIGHTS: path.join(dir, 'gone.h5') }, dataDir: dir });
    expect(missing).toMatchObject({ path: null, help: expect.stringMatching(/^NST_WEIGHTS points to .*gone\.h5, which does not exist\./) });
    const none = await locateWeights({ env: {}, dataDir: dir });
    expect(none.path).toBeNull();
    expect(appInfoWeights(none)).toEqual({ source: null, help: expect.stringContaining(defaultWeightsDir(dir)) });
  });

  it('offers auto and cpu on every platform', () => {
    expect(availableDevices().slice(0, 2)).toEqual(['auto', 'cpu']);
  });
});
