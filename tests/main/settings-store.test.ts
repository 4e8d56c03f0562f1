// The settings store: saves atomically, loads what it saved, fills fields an older version lacked, and falls
// back to defaults (keeping the bad file as .bak) whatever it finds on disk.

import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SETTINGS_FILE_NAME, SettingsStore } from '../../src/main/services/settings-store.js';
import { DEFAULT_STUDIO_SETTINGS, applyPreset } from '../../src/shared/studio-settings.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-settings-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = (): string => path.join(dir, SETTINGS_FILE_NAME);

describe('SettingsStore', () => {
  it('starts from defaults without creating a file, then saves and reloads settings, window and weights path', async () => {
    const store = await SettingsStore.open(dir);
    expect(store.settings).toEqual(DEFAULT_STUDIO_SETTINGS);
    expect(store.windowState).toBeNull();
    expect(store.recovery).toBeNull();
    expect(await readdir(dir)).toEqual([]);

    const changed = { ...applyPreset(DEFAULT_STUDIO_SETTINGS, 'seed-block3_conv2'), sizePx: 512, device: 'cpu' as const, learningRate: 5 };
    expect(await store.saveSettings(changed)).toEqual({ ok: true, value: null });
    expect(await store.saveWindowState({ x: 10, y: 20, width: 1280, height: 800, maximized: false })).toEqual({ ok: true, value: null });
    expect(await store.saveWeightsPath('/opt/vgg19.h5')).toEqual({ ok: true, value: null });

    const again = await SettingsStore.open(dir);
    expect(again.settings).toEqual(changed);
    expect(again.windowState).toEqual({ x: 10, y: 20, width: 1280, height: 800, maximized: false });
    expect(again.weightsPath).toBe('/opt/vgg19.h5');
    // Only the file itself remains: no temporary files left behind.
    expect(await readdir(dir)).toEqual([SETTINGS_FILE_NAME]);
  });

  it('rejects invalid settings as BAD_REQUEST data and keeps the previous ones', async () => {
    const store = await SettingsStore.open(dir);
    await store.saveSettings({ ...DEFAULT_STUDIO_SETTINGS, iterations: 42 });
    const bad = await store.saveSettings({ ...DEFAULT_STUDIO_SETTINGS, sizePx: -3 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^settings\.sizePx must be at least 16/) } });
    expect(store.settings.iterations).toBe(42);
    expect((await SettingsStore.open(dir)).settings.iterations).toBe(42);
  });

  it('serialises concurrent saves: the file ends with the last one, always whole', async () => {
    const store = await SettingsStore.open(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.saveSettings({ ...DEFAULT_STUDIO_SETTINGS, iterations: i + 1 })));
    const onDisk = JSON.parse(await readFile(file(), 'utf8')) as { settings: { iterations: number } };
    expect(onDisk.settings.iterations).toBe(20);
    expect(await readdir(dir)).toEqual([SETTINGS_FILE_NAME]);
  });

  it.each([
    ['an empty file', ''],
    ['truncated JSON', '{"version":1,"settings":{"sizePx":'],
    ['a JSON array', '[1,2,3]'],
    ['settings of the wrong type', '{"version":1,"settings":"big"}'],
    ['an out-of-range value', JSON.stringify({ version: 1, settings: { ...DEFAULT_STUDIO_SETTINGS, iterations: -5 } })],
    ['binary garbage', '\u0000\u0001\u00ff\u00fe'],
  ])('falls back to defaults on %s and keeps the file as .bak', async (_label, content) => {
    await writeFile(file(), content);
    const store = await SettingsStore.open(dir);
    expect(store.settings).toEqual(DEFAULT_STUDIO_SETTINGS);
    expect(store.recovery).toMatch(/was not usable .* kept as .*\.bak/);
    expect(await readFile(`${file()}.bak`, 'utf8')).toBe(content);
    // And it keeps working: a save writes a fresh, valid file.
    expect(await store.saveSettings(DEFAULT_STUDIO_SETTINGS)).toEqual({ ok: true, value: null });
    expect((await SettingsStore.open(dir)).recovery).toBeNull();
  });

  it('fills fields an older file lacks with defaults, drops unknown ones, and ignores a bad window state', async () => {
    const older: Record<string, unknown> = { ...DEFAULT_STUDIO_SETTINGS, iterations: 77 };
    delete older.seed;
    const layers: Record<string, unknown> = { ...DEFAULT_STUDIO_SETTINGS.layers };
    delete layers.block5_conv4;
    await writeFile(file(), JSON.stringify({ version: 1, settings: { ...older, layers, futureField: 'x' }, window: { width: 'wide' } }));
    const store = await SettingsStore.open(dir);
    expect(store.recovery).toBeNull();
    expect(store.settings).toEqual({ ...DEFAULT_STUDIO_SETTINGS, iterations: 77 });
    expect(store.windowState).toBeNull();
  });

  it('reports a save that cannot be written as data (SETTINGS_NOT_SAVED), not an exception', async () => {
    // The data folder would sit inside a file: every write fails.
    const blocked = path.join(dir, 'blocked');
    await writeFile(blocked, 'a file, not a folder');
    const store = await SettingsStore.open(path.join(blocked, 'data'));
    expect(await store.saveSettings(DEFAULT_STUDIO_SETTINGS)).toMatchObject({ ok: false, error: { code: 'SETTINGS_NOT_SAVED' } });
  });
});
