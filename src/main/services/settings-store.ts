// Persists the studio's settings and window state as one JSON file in the app's data folder: written
// atomically (temporary file + rename), validated on load; a corrupt file is kept as .bak and defaults used.

import { mkdir, readFile, rename } from 'node:fs/promises';
import { writeFileAtomic as writeAtomically } from '../../engine/index.js';
import path from 'node:path';
import * as v from 'valibot';
import type { Result } from '../../shared/api.js';
import { validateStudioSettings, validateVideoSettings } from '../../shared/schemas.js';
import { DEFAULT_STUDIO_SETTINGS, DEFAULT_VIDEO_SETTINGS, LAYER_NAMES, type StudioSettings, type VideoSettings } from '../../shared/studio-settings.js';
import { errorInfo } from './error-info.js';

export const SETTINGS_FILE_NAME = 'studio-settings.json';
const FILE_VERSION = 1;

export interface WindowState {
  /** Position of the window's top-left corner; null lets the OS place it. */
  x: number | null;
  y: number | null;
  width: number;
  height: number;
  maximized: boolean;
}

const WindowStateSchema = v.strictObject({
  x: v.nullable(v.pipe(v.number(), v.safeInteger())),
  y: v.nullable(v.pipe(v.number(), v.safeInteger())),
  width: v.pipe(v.number(), v.integer(), v.minValue(200), v.maxValue(100_000)),
  height: v.pipe(v.number(), v.integer(), v.minValue(150), v.maxValue(100_000)),
  maximized: v.boolean(),
}) satisfies v.GenericSchema<unknown, WindowState>;

interface StoredFile {
  version: number;
  settings: StudioSettings;
  window: WindowState | null;
  weightsPath: string | null;
  /** The Export video options and the timelapse toggle. */
  video: VideoSettings;
  /**
   * The ffmpeg chosen in Electron's open dialog; never set from the page. (Files from before kept a page-given
   * `video.ffmpegPath`; it is dropped on load, since any client of the bridge could have written it.)
   */
  ffmpegPath: string | null;
}

export class SettingsStore {
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly filePath: string,
    private data: StoredFile,
    /** Set when the file on disk could not be used: what was wrong and where the old file was kept. */
    readonly recovery: string | null,
  ) {}

  /** Loads `<dataDir>/studio-settings.json` (creating nothing until the first save). Never throws on bad content. */
  static async open(dataDir: string, fileName = SETTINGS_FILE_NAME): Promise<SettingsStore> {
    const filePath = path.join(dataDir, fileName);
    let text: string;
    try {
      text = await readFile(filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new SettingsStore(filePath, defaults(), null);
      // Unreadable (permissions, a folder in its place): run on defaults; a later save reports its own error.
      return new SettingsStore(filePath, defaults(), `${filePath} could not be read (${(error as Error).message}); using defaults.`);
    }
    const parsed = parseStoredFile(text);
    if (parsed.ok) return new SettingsStore(filePath, parsed.value, null);
    const backup = `${filePath}.bak`;
    let kept = `kept as ${backup}`;
    try {
      await rename(filePath, backup);
    } catch (error) {
      kept = `could not be moved to ${backup} (${(error as Error).message})`;
    }
    return new SettingsStore(filePath, defaults(), `${filePath} was not usable (${parsed.error}); it was ${kept} and defaults are used.`);
  }

  get settings(): StudioSettings {
    return structuredClone(this.data.settings);
  }

  get windowState(): WindowState | null {
    return this.data.window ? { ...this.data.window } : null;
  }

  get weightsPath(): string | null {
    return this.data.weightsPath;
  }

  get videoSettings(): VideoSettings {
    return { ...this.data.video };
  }

  /** The ffmpeg the user chose in a native dialog (tried first by resolveFfmpeg), or null. */
  get ffmpegPath(): string | null {
    return this.data.ffmpegPath;
  }

  /** Only for a path from a native dialog or the host's own configuration, never from the page. */
  async saveFfmpegPath(ffmpegPath: string | null): Promise<Result<null>> {
    return this.persist({ ...this.data, ffmpegPath });
  }

  /** Persists settings the dispatch validated. */
  async saveVideoSettings(video: VideoSettings): Promise<Result<null>> {
    return this.persist({ ...this.data, video: { ...video } });
  }

  /** Persists settings the dispatch validated. */
  async saveSettings(settings: StudioSettings): Promise<Result<null>> {
    return this.persist({ ...this.data, settings: structuredClone(settings) });
  }

  async saveWindowState(state: WindowState): Promise<Result<null>> {
    const parsed = v.safeParse(WindowStateSchema, state);
    if (!parsed.success) return { ok: false, error: { code: 'BAD_REQUEST', message: 'The window state is not a valid position and size.' } };
    return this.persist({ ...this.data, window: parsed.output });
  }

  async saveWeightsPath(weightsPath: string | null): Promise<Result<null>> {
    return this.persist({ ...this.data, weightsPath });
  }

  /** Resolves when every save so far has reached the disk (or failed). */
  flush(): Promise<void> {
    return this.writes;
  }

  private persist(next: StoredFile): Promise<Result<null>> {
    this.data = next;
    const text = `${JSON.stringify(next, null, 2)}\n`;
    // Saves are serialised: the file always ends up holding the last one, never an interleaving.
    const write = this.writes.then(() => writeFileAtomic(this.filePath, text));
    this.writes = write.catch(() => undefined);
    return write.then(
      (): Result<null> => ({ ok: true, value: null }),
      (error: unknown): Result<null> => {
        // A full or read-only disk is said as the CLI says it; the code stays the one the page knows.
        const { message } = errorInfo(error, { code: 'SETTINGS_NOT_SAVED', message: (detail) => `${this.filePath}: ${detail}` }, { path: this.filePath });
        return { ok: false, error: { code: 'SETTINGS_NOT_SAVED', message: `The settings could not be saved: ${message}` } };
      },
    );
  }
}

function defaults(): StoredFile {
  return { version: FILE_VERSION, settings: structuredClone(DEFAULT_STUDIO_SETTINGS), window: null, weightsPath: null, video: { ...DEFAULT_VIDEO_SETTINGS }, ffmpegPath: null };
}

/**
 * Parses the file. Settings from an older version missing a field get that field's default; unknown fields
 * (a newer version's) are dropped; anything else wrong makes the whole file unusable.
 */
function parseStoredFile(text: string): { ok: true; value: StoredFile } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: text.trim() === '' ? 'the file is empty' : 'it is not valid JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'it does not hold a JSON object' };
  const file = raw as Record<string, unknown>;
  const stored = file.settings;
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return { ok: false, error: 'it holds no settings object' };
  const merged = withDefaults(stored as Record<string, unknown>);
  const settings = validateStudioSettings(merged);
  if (!settings.ok) return { ok: false, error: settings.error.message };
  const window = v.safeParse(WindowStateSchema, file.window);
  const weightsPath = typeof file.weightsPath === 'string' && file.weightsPath.length > 0 ? file.weightsPath : null;
  const ffmpegPath = typeof file.ffmpegPath === 'string' && file.ffmpegPath.length > 0 ? file.ffmpegPath : null;
  // The video options are a convenience: missing fields get defaults, and a section that is still not valid is
  // dropped for the defaults rather than costing the run settings.
  const storedVideo = typeof file.video === 'object' && file.video !== null && !Array.isArray(file.video) ? (file.video as Record<string, unknown>) : {};
  const video = validateVideoSettings({ ...DEFAULT_VIDEO_SETTINGS, ...pick(storedVideo, Object.keys(DEFAULT_VIDEO_SETTINGS)) });
  return {
    ok: true,
    value: { version: FILE_VERSION, settings: settings.value, window: window.success ? window.output : null, weightsPath, video: video.ok ? video.value : { ...DEFAULT_VIDEO_SETTINGS }, ffmpegPath },
  };
}

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in record).map((k) => [k, record[k]]));
}

function withDefaults(stored: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, fallback] of Object.entries(DEFAULT_STUDIO_SETTINGS)) out[key] = key in stored ? stored[key] : fallback;
  const layers = stored.layers;
  if (typeof layers === 'object' && layers !== null && !Array.isArray(layers)) {
    const storedLayers = layers as Record<string, unknown>;
    out.layers = Object.fromEntries(LAYER_NAMES.map((name) => [name, name in storedLayers ? storedLayers[name] : DEFAULT_STUDIO_SETTINGS.layers[name]]));
  }
  return out;
}

/** Creates the folder if needed, then writes atomically (engine/sys/atomic-file.ts). */
async function writeFileAtomic(filePath: string, text: string): Promise<void> {
  await mkdir(path.dirname(filePath), { recursive: true });
  await writeAtomically(filePath, text);
}
