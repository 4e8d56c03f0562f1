// The settings store: saves atomically, loads what it saved, fills fields an older version lacked, and falls
// back to defaults (keeping the bad file as .bak) whatever it finds on disk.

import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SETTINGS_FILE_NAME, SettingsStore } from '../../src/main/services/settings-store.js';
import { DEFAULT_STUDIO_SETTINGS, DEFAULT_VIDEO_SETTINGS, applyPreset } from '../../src/shared/studio-settings.js';
import { StudioBackend } from '../../src/main/services/studio-backend.js';
import type { ApiCalls } from '../../src/shared/api.js';
import { dispatch } from '../../src/shared/dispatch.js';
import { tsJobWorker } from '../helpers/studio.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nst-settings-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = (): string => path.join(dir, SETTINGS_FILE_NAME);

/** A save as the window's request makes it: through the transports' dispatch, which validates it before the store sees it. */
const saveThroughDispatch = (store: SettingsStore, method: 'saveSettings' | 'saveVideoSettings', payload: unknown) =>
  dispatch({ saveSettings: (settings) => store.saveSettings(settings), saveVideoSettings: (video) => store.saveVideoSettings(video) } as Partial<ApiCalls> as ApiCalls, method, payload);

describe('SettingsStore', () => {
  it('starts from defaults without creating a file, then saves and reloads settings, window and weights path', async () => {
    const store = await SettingsStore.open(dir);
    expect(store.settings).toEqual(DEFAULT_STUDIO_SETTINGS);
    expect(store.windowState).toBeNull();
    expect(store.recovery).toBeNull();
    expect(await readdir(dir)).toEqual([]);

    const changed = { ...applyPreset(DEFAULT_STUDIO_SETTINGS, 'single-block3_conv2'), sizePx: 512, device: 'cpu' as const, learningRate: 5 };
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
    const bad = await saveThroughDispatch(store, 'saveSettings', { ...DEFAULT_STUDIO_SETTINGS, sizePx: -3 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^saveSettings\.sizePx must be at least 16/) } });
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
    // Said as the CLI says a file in the way (engine/sys/fs-errors.ts), naming it.
    expect(await store.saveSettings(DEFAULT_STUDIO_SETTINGS)).toMatchObject({
      ok: false,
      error: { code: 'SETTINGS_NOT_SAVED', message: `The settings could not be saved: Cannot create the folder ${path.join(blocked, 'data')}: ${blocked} is a file, not a folder (ENOTDIR). Move that file away or choose another folder.` },
    });
  });
});

describe('SettingsStore: video options, ffmpeg path, memory and scale settings', () => {
  const video = { format: 'gif' as const, frameEvery: 5, fps: 24, holdFinalSeconds: 2.5, sideBySide: true, caption: true, record: false };

  it('persists the Export video options, the timelapse toggle and the ffmpeg chosen in the dialog across launches', async () => {
    const store = await SettingsStore.open(dir);
    expect(store.videoSettings).toEqual(DEFAULT_VIDEO_SETTINGS);
    expect(store.ffmpegPath).toBeNull();
    expect(await store.saveVideoSettings(video)).toEqual({ ok: true, value: null });
    expect(await store.saveFfmpegPath('/opt/ffmpeg/bin/ffmpeg')).toEqual({ ok: true, value: null });
    const again = await SettingsStore.open(dir);
    expect(again.videoSettings).toEqual(video);
    expect(again.ffmpegPath).toBe('/opt/ffmpeg/bin/ffmpeg');
    // The run settings are untouched by a video save, and the other way round.
    expect(again.settings).toEqual(DEFAULT_STUDIO_SETTINGS);
    expect(await again.saveSettings({ ...DEFAULT_STUDIO_SETTINGS, sizePx: 200 })).toEqual({ ok: true, value: null });
    expect((await SettingsStore.open(dir)).videoSettings).toEqual(video);
  });

  it.each([
    ['an ffmpeg path (only the host may name one)', { ffmpegPath: '/bin/sh' }, /ffmpegPath is not a known field/],
    ['fps 0', { fps: 0 }, /fps/],
    ['frameEvery 0.5', { frameEvery: 0.5 }, /frameEvery/],
    ['an unknown format', { format: 'avi' }, /format/],
    ['record as a string', { record: 'yes' }, /record/],
    ['an unknown field', { ffmpegArgs: '-y' }, /ffmpegArgs/],
  ])('rejects %s as BAD_REQUEST and keeps what was saved', async (_what, patch, mentions) => {
    const store = await SettingsStore.open(dir);
    await store.saveVideoSettings(video);
    const result = await saveThroughDispatch(store, 'saveVideoSettings', { ...video, ...patch });
    expect(result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(mentions) } });
    expect(store.videoSettings).toEqual(video);
    expect((await SettingsStore.open(dir)).videoSettings).toEqual(video);
  });

  it('fills video fields an older file lacks, and falls back to default video options (not default settings) for a bad section', async () => {
    const settings = { ...DEFAULT_STUDIO_SETTINGS, sizePx: 300 };
    await writeFile(file(), JSON.stringify({ version: 1, settings, window: null, weightsPath: null, video: { fps: 30 } }));
    const older = await SettingsStore.open(dir);
    expect(older.videoSettings).toEqual({ ...DEFAULT_VIDEO_SETTINGS, fps: 30 });
    await writeFile(file(), JSON.stringify({ version: 1, settings, window: null, weightsPath: null, video: { fps: 'fast', ffmpegPath: 7 } }));
    const bad = await SettingsStore.open(dir);
    expect(bad.recovery).toBeNull();
    expect(bad.settings.sizePx).toBe(300);
    expect(bad.videoSettings).toEqual(DEFAULT_VIDEO_SETTINGS);
  });

  it('persists scales, style scale, original colours, tiling and the memory limit, and rejects values out of range', async () => {
    const store = await SettingsStore.open(dir);
    const chosen = { ...DEFAULT_STUDIO_SETTINGS, scales: 3, styleScale: 0.5, originalColors: true, tile: 512, tileOverlapPx: 32, memoryLimitMb: 4096 };
    expect(await store.saveSettings(chosen)).toEqual({ ok: true, value: null });
    expect((await SettingsStore.open(dir)).settings).toEqual(chosen);
    for (const [patch, field] of [
      [{ scales: 9 }, 'scales'],
      [{ scales: 'on' }, 'scales'],
      [{ styleScale: 0 }, 'styleScale'],
      [{ tile: 8 }, 'tile'],
      [{ tile: 'always' }, 'tile'],
      [{ tileOverlapPx: -1 }, 'tileOverlapPx'],
      [{ memoryLimitMb: 100 }, 'memoryLimitMb'],
      [{ memoryLimitMb: 1.5e9 }, 'memoryLimitMb'],
    ] as const) {
      const result = await saveThroughDispatch(store, 'saveSettings', { ...chosen, ...patch });
      expect(result, JSON.stringify(patch)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining(`saveSettings.${field}`) } });
    }
    expect((await SettingsStore.open(dir)).settings).toEqual(chosen);
    // A file from before these settings existed gets the CLI's defaults for them.
    const older: Partial<typeof chosen> = { ...chosen };
    delete older.scales;
    delete older.tile;
    delete older.memoryLimitMb;
    await writeFile(file(), JSON.stringify({ version: 1, settings: older }));
    expect((await SettingsStore.open(dir)).settings).toMatchObject({ scales: 'auto', tile: 'auto', memoryLimitMb: null, styleScale: 0.5 });
  });

  it('drops an ffmpeg path that an older file kept with the video options (any client of the bridge could have set it)', async () => {
    await writeFile(file(), JSON.stringify({ version: 1, settings: DEFAULT_STUDIO_SETTINGS, video: { ...video, ffmpegPath: '/tmp/evil.sh' } }));
    const store = await SettingsStore.open(dir);
    expect(store.videoSettings).toEqual(video);
    expect(store.ffmpegPath).toBeNull();
  });

  it('the studio asks ffmpeg status with the chosen path first, and says when it does not work', async () => {
    const backend = await StudioBackend.create({ dataDir: dir, worker: tsJobWorker(), version: 'test', env: {} });
    try {
      const missing = path.join(dir, 'no-such-ffmpeg');
      const status = await backend.useFfmpeg(missing);
      expect(status.ok).toBe(true);
      const text = JSON.stringify(status.ok && status.value);
      // Found elsewhere (notes say why the setting was passed over) or not at all (the help names what was tried).
      expect(text).toContain(`the ffmpeg setting (${missing})`);
      expect(text).toContain('does not exist');
    } finally {
      await backend.dispose();
    }
  });
});
