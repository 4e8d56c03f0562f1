// The runs the studio finished: a thumbnail, the settings and masks they used, their id for re-export, and their
// image to show again. Kept across reloads in the window's storage, bounded: the newest MAX_ENTRIES, each with a
// small JPEG and its masks packed (mask-pack.ts).

import type { MaskSet } from '../../shared/api.js';
import { RUNS_KEPT, type StudioSettings } from '../../shared/studio-settings.js';
import { encodeScaled } from '../Drop/read-image.js';
import { fromBase64, packMasks, toBase64, unpackMasks, type PackedMasks } from '../lib/mask-pack.js';
import type { FinishedRun } from './run.svelte.js';

export interface HistoryEntry {
  runId: string;
  /** The run's image as a JPEG: as the run ended in this session; a smaller copy (STORED_SIDE_PX) after a reload. */
  jpeg: Uint8Array;
  thumbUrl: string;
  width: number;
  height: number;
  iterations: number;
  stopped: boolean;
  finalLoss: number;
  device: string | null;
  settings: StudioSettings;
  /** The masks it painted with last; null: none. After a reload, null until they are unpacked (a moment). */
  masks: MaskSet | null;
  finishedAt: Date;
  /**
   * Read back from the storage, not finished in this session: the host no longer has its image or frames (it keeps a
   * session's runs only), so it can be shown again but not exported.
   */
  earlierSession: boolean;
}

/** An entry as stored: plain JSON, its image as base64, its masks packed (absent in entries stored before masks). */
interface StoredEntry extends Omit<HistoryEntry, 'jpeg' | 'thumbUrl' | 'finishedAt' | 'earlierSession' | 'masks'> {
  jpegBase64: string;
  finishedAt: string;
  masks?: PackedMasks | null;
}

export const HISTORY_STORAGE_KEY = 'neural-style-studio.history.v1';
/** The newest runs kept across reloads: as many as the host keeps images of (RUNS_KEPT), within the storage's 5 MB. */
export const MAX_ENTRIES = RUNS_KEPT;
/** Longest side of a stored image (about 30–80 kB as JPEG): the preview shows it at the run's size. */
const STORED_SIDE_PX = 512;

const jpegUrl = (jpeg: Uint8Array): string => URL.createObjectURL(new Blob([jpeg.slice()], { type: 'image/jpeg' }));

/** A stored entry read back, or null when it is not one (another version's, or damaged): it is left out. */
function revive(value: unknown): HistoryEntry | null {
  const stored = value as Partial<StoredEntry> | null;
  if (!stored || typeof stored.runId !== 'string' || typeof stored.jpegBase64 !== 'string' || typeof stored.settings !== 'object') return null;
  let jpeg: Uint8Array;
  try {
    jpeg = fromBase64(stored.jpegBase64);
  } catch {
    return null;
  }
  const { runId, width, height, iterations, stopped, finalLoss, device, settings, finishedAt } = stored as StoredEntry;
  return { runId, jpeg, thumbUrl: jpegUrl(jpeg), width, height, iterations, stopped, finalLoss, device, settings, masks: null, finishedAt: new Date(finishedAt), earlierSession: true };
}

/** The stored form of an entry, with its image (made small) as base64 and its masks packed. */
function storedForm(entry: HistoryEntry, smallJpeg: Uint8Array, masks: PackedMasks | null): StoredEntry {
  const { runId, width, height, iterations, stopped, finalLoss, device, settings, finishedAt } = entry;
  return { runId, width, height, iterations, stopped, finalLoss, device, settings, masks, finishedAt: finishedAt.toISOString(), jpegBase64: toBase64(smallJpeg) };
}

export class HistoryState {
  entries = $state.raw<HistoryEntry[]>([]);
  /** The stored form of each entry, newest first (its image made small once, when the run finished). */
  private stored: StoredEntry[] = [];

  /** `storage`: the window's localStorage; null keeps the history for this session only. */
  constructor(private readonly storage: Storage | null = globalThis.localStorage ?? null) {
    this.load();
  }

  /** A finished run, newest first; a run that finishes again (continued after converging) replaces its entry. */
  add(run: FinishedRun): HistoryEntry {
    const entry: HistoryEntry = {
      runId: run.runId,
      jpeg: run.final.jpeg.slice(),
      thumbUrl: jpegUrl(run.final.jpeg),
      width: run.final.width,
      height: run.final.height,
      iterations: run.iterations,
      stopped: run.stopped,
      finalLoss: run.loss.total,
      device: run.device,
      settings: structuredClone(run.settings),
      masks: run.masks,
      finishedAt: new Date(),
      earlierSession: false,
    };
    const replaced = this.entries.filter((e) => e.runId === entry.runId);
    replaced.forEach((e) => URL.revokeObjectURL(e.thumbUrl));
    const kept = this.entries.filter((e) => e.runId !== entry.runId);
    this.entries = [entry, ...kept.slice(0, MAX_ENTRIES - 1)];
    kept.slice(MAX_ENTRIES - 1).forEach((e) => URL.revokeObjectURL(e.thumbUrl));
    void this.persist(entry);
    return entry;
  }

  clear(): void {
    for (const entry of this.entries) URL.revokeObjectURL(entry.thumbUrl);
    this.entries = [];
    this.stored = [];
    this.storage?.removeItem(HISTORY_STORAGE_KEY);
  }

  private load(): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.storage?.getItem(HISTORY_STORAGE_KEY) ?? '[]');
    } catch {
      return;
    }
    if (!Array.isArray(parsed)) return;
    const entries: HistoryEntry[] = [];
    for (const value of parsed.slice(0, MAX_ENTRIES)) {
      const entry = revive(value);
      if (!entry) continue;
      entries.push(entry);
      this.stored.push(value as StoredEntry);
    }
    this.entries = entries;
    void this.unpackStoredMasks();
  }

  /** Stored entries' masks, unpacked (asynchronously: DecompressionStream) into their entries. */
  private async unpackStoredMasks(): Promise<void> {
    const unpacked = new Map<string, MaskSet>();
    for (const stored of this.stored) {
      const masks = stored.masks ? await unpackMasks(stored.masks) : null;
      if (masks) unpacked.set(stored.runId, masks);
    }
    if (unpacked.size === 0) return;
    this.entries = this.entries.map((e) => (e.earlierSession && !e.masks && unpacked.has(e.runId) ? { ...e, masks: unpacked.get(e.runId)! } : e));
  }

  /** Stores the entry with its image made small; when the storage is full, older entries give way. */
  private async persist(entry: HistoryEntry): Promise<void> {
    if (!this.storage) return;
    let small: Uint8Array;
    let masks: PackedMasks | null;
    try {
      const bitmap = await createImageBitmap(new Blob([entry.jpeg.slice()], { type: 'image/jpeg' }));
      small = new Uint8Array(await (await encodeScaled(bitmap, STORED_SIDE_PX, { type: 'image/jpeg', quality: 0.8 })).blob.arrayBuffer());
      bitmap.close();
      // At full size: a mask made small would lose the edges painted; packed, they are kilobytes.
      masks = entry.masks ? await packMasks(entry.masks) : null;
    } catch {
      return;
    }
    this.stored = [storedForm(entry, small, masks), ...this.stored.filter((s) => s.runId !== entry.runId)].slice(0, MAX_ENTRIES);
    while (this.stored.length > 0) {
      try {
        this.storage.setItem(HISTORY_STORAGE_KEY, JSON.stringify(this.stored));
        return;
      } catch {
        // Over the storage's quota: the oldest entry goes, until the rest fit.
        this.stored = this.stored.slice(0, -1);
      }
    }
    this.storage.removeItem(HISTORY_STORAGE_KEY);
  }
}
