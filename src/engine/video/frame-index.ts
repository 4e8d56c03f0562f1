// A frame spool's index (frames.jsonl): one JSON record a line, appended as frames land, so a run of N frames writes
// O(N) bytes of index (a rewrite per frame was quadratic); read back with a torn last line (a kill mid-append) left out.
// Also the reader of a frames folder for export: a spool's index, an older spool's frames.json, or numbered images.

import { appendFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { NstError } from '../errors.js';
import { writeFileAtomicSync } from '../sys/atomic-file.js';
import { pathExists, readTextIfPresent } from '../sys/path-exists.js';

export const FRAMES_INDEX_FILE = 'frames.jsonl';
/** The index of spools written before it was appended to (one JSON document, rewritten per frame): still read. */
export const LEGACY_FRAMES_INDEX_FILE = 'frames.json';
export const CONTENT_FILE = 'content.png';
const INDEX_VERSION = 2;

export type FrameFileFormat = 'png' | 'jpeg';

export interface FrameEntry {
  /** File name inside the spool folder: frame_000000.png, frame_000001.png, … in capture order. */
  readonly file: string;
  /** Optimizer iterations done when the frame was taken (0 = the start image). */
  readonly iteration: number;
  /** Total loss of exactly this image, or null where it is not known. */
  readonly loss: number | null;
}

/** A spool's index as read: the spool's settings and its frames in order, each with its latest loss. */
export interface FramesIndex {
  /** The frames' size; 0 × 0 before the first frame. */
  readonly width: number;
  readonly height: number;
  readonly format: FrameFileFormat;
  readonly frameEvery: number;
  /** The content image at the run's size (for side-by-side videos), or null. */
  readonly content: string | null;
  readonly frames: readonly FrameEntry[];
}

/**
 * The lines of frames.jsonl. The spool line comes first; the size line before the first frame; a frame line only
 * once its file is on disk (a reader never finds a listed frame missing); a loss line after the frame it belongs to.
 */
export type IndexRecord =
  | { readonly type: 'spool'; readonly version: typeof INDEX_VERSION; readonly format: FrameFileFormat; readonly frameEvery: number }
  | { readonly type: 'size'; readonly width: number; readonly height: number }
  | ({ readonly type: 'frame' } & FrameEntry)
  | { readonly type: 'loss'; readonly iteration: number; readonly loss: number }
  | { readonly type: 'content'; readonly file: string };

/** The index's first line: what every frame of the spool shares. */
export function spoolRecord(format: FrameFileFormat, frameEvery: number): IndexRecord {
  return { type: 'spool', version: INDEX_VERSION, format, frameEvery };
}

/** Appends records to the spool's index, synchronously (see FrameSpool for why), in one write. */
export function appendIndexRecords(dir: string, records: readonly IndexRecord[]): void {
  appendFileSync(path.join(dir, FRAMES_INDEX_FILE), records.map((record) => `${JSON.stringify(record)}\n`).join(''));
}

/** Replaces the spool's index with the shortest one that says `index` (a resumed spool's, once), atomically. */
export function writeIndex(dir: string, index: FramesIndex): void {
  const records: IndexRecord[] = [
    spoolRecord(index.format, index.frameEvery),
    ...(index.frames.length > 0 ? [{ type: 'size', width: index.width, height: index.height } as const] : []),
    ...(index.content !== null ? [{ type: 'content', file: index.content } as const] : []),
    ...index.frames.map((frame): IndexRecord => ({ type: 'frame', ...frame })),
  ];
  writeFileAtomicSync(path.join(dir, FRAMES_INDEX_FILE), records.map((record) => `${JSON.stringify(record)}\n`).join(''));
}

/** Whether `dir` holds a spool index (frames.jsonl, or an older spool's frames.json), without reading it. */
export async function hasFramesIndex(dir: string): Promise<boolean> {
  for (const name of [FRAMES_INDEX_FILE, LEGACY_FRAMES_INDEX_FILE]) if (await pathExists(path.join(dir, name))) return true;
  return false;
}

/**
 * The spool index in `dir` (frames.jsonl, else an older spool's frames.json), or null when it holds neither. Throws
 * BAD_ARGUMENT when the index is not one nst wrote.
 */
export async function readFramesIndex(dir: string): Promise<FramesIndex | null> {
  for (const [name, parse] of [
    [FRAMES_INDEX_FILE, parseFramesIndex],
    [LEGACY_FRAMES_INDEX_FILE, parseLegacyFramesIndex],
  ] as const) {
    const file = path.join(dir, name);
    const text = await readTextIfPresent(file);
    if (text !== null) return parse(text, file);
  }
  return null;
}

/** Parses frames.jsonl's text (`file` names it in the error). A last line without its newline may be torn: left out. */
export function parseFramesIndex(text: string, file: string): FramesIndex {
  const notOurs = (why: string): NstError => new NstError('BAD_ARGUMENT', `${file} is not a frame index nst wrote (${why}).`);
  const lines = text.split('\n');
  const torn = lines.pop() ?? ''; // '' when the text ends with its newline
  let spool: { format: FrameFileFormat; frameEvery: number } | null = null;
  let size = { width: 0, height: 0 };
  let content: string | null = null;
  const frames: FrameEntry[] = [];
  const records = lines.map((line, i) => ({ line, number: i + 1, last: false }));
  if (torn !== '') records.push({ line: torn, number: lines.length + 1, last: true });
  for (const { line, number, last } of records) {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      if (last) break;
      throw notOurs(`line ${number} is not JSON`);
    }
    const r = record as Partial<Record<string, unknown>> | null;
    if (number === 1 && (r?.type !== 'spool' || r.version !== INDEX_VERSION)) throw notOurs(`its first line is not a version ${INDEX_VERSION} spool line`);
    if (r?.type === 'spool' && number === 1 && (r.format === 'png' || r.format === 'jpeg') && isCount(r.frameEvery) && r.frameEvery >= 1) {
      spool = { format: r.format, frameEvery: r.frameEvery };
    } else if (r?.type === 'size' && isCount(r.width) && isCount(r.height) && r.width > 0 && r.height > 0) {
      size = { width: r.width, height: r.height };
    } else if (r?.type === 'frame' && isFileName(r.file) && isCount(r.iteration) && (r.loss === null || typeof r.loss === 'number')) {
      frames.push({ file: r.file, iteration: r.iteration, loss: r.loss });
    } else if (r?.type === 'loss' && isCount(r.iteration) && typeof r.loss === 'number') {
      const at = frames.findLastIndex((f) => f.iteration === r.iteration);
      if (at >= 0) frames[at] = { ...frames[at]!, loss: r.loss };
    } else if (r?.type === 'content' && isFileName(r.file)) {
      content = r.file;
    } else {
      throw notOurs(`line ${number} is not a record it knows`);
    }
  }
  if (!spool) throw notOurs('it holds no spool line: empty, or cut short by a kill');
  return { ...size, ...spool, content, frames };
}

/** frames.json as spools wrote it before frames.jsonl: one document, version 1. */
function parseLegacyFramesIndex(text: string, file: string): FramesIndex {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NstError('BAD_ARGUMENT', `${file} is not valid JSON.`, { cause: error });
  }
  const index = value as Partial<Record<keyof FramesIndex | 'version', unknown>> | null;
  const frames = index?.frames;
  const valid =
    index?.version === 1 &&
    (index.format === 'png' || index.format === 'jpeg') &&
    isCount(index.frameEvery) &&
    isCount(index.width) &&
    isCount(index.height) &&
    (index.content === null || isFileName(index.content)) &&
    Array.isArray(frames) &&
    frames.every((f: Partial<FrameEntry>) => isFileName(f.file) && isCount(f.iteration) && (f.loss === null || typeof f.loss === 'number'));
  if (!valid) throw new NstError('BAD_ARGUMENT', `${file} is not a frame index nst wrote (version 1).`);
  return value as FramesIndex;
}

/** frame_000000.png, frame_000001.png, …: the capture position, so a resumed spool's new frames come after its own. */
export function frameFileName(position: number, format: FrameFileFormat): string {
  return `frame_${String(position).padStart(6, '0')}.${format === 'png' ? 'png' : 'jpg'}`;
}

/** A frame file a spool names (frameFileName's). */
export const FRAME_FILE = /^frame_\d{6,}\.(png|jpg)$/;

/** A plain name in the spool's folder: never a path, so an index cannot send a reader elsewhere. */
function isFileName(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !value.includes('/') && !value.includes('\\') && value !== '..';
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

// --- the frames of a folder, for export --------------------------------------------------------------------

/** One frame as exportVideo reads it. */
export interface FrameSource {
  readonly path: string;
  readonly iteration: number | null;
  readonly loss: number | null;
}

export interface FrameList {
  readonly dir: string;
  readonly frames: readonly FrameSource[];
  /** The spool's content image, when it kept one. */
  readonly contentPath: string | null;
}

const IMAGE_FILE = /\.(png|jpe?g|webp)$/i;

/**
 * The frames of a folder: a spool's index order, or else every PNG/JPEG/WebP file sorted by the number in its name
 * (so `nst stylize --save-every N --frames-dir DIR` output works too; the number is taken as the iteration).
 */
export async function listFrames(dir: string): Promise<FrameList> {
  const folder = path.resolve(dir);
  let names: string[];
  try {
    if (!(await stat(folder)).isDirectory()) throw new NstError('BAD_ARGUMENT', `${folder} is a file; give the folder that holds the frames.`);
    names = await readdir(folder);
  } catch (error) {
    if (error instanceof NstError) throw error;
    throw new NstError('FILE_NOT_FOUND', `No frames folder at ${folder}.`, { cause: error });
  }
  const index = await readFramesIndex(folder);
  if (index) {
    if (index.frames.length === 0) throw new NstError('BAD_ARGUMENT', `The frame spool in ${folder} holds no frames yet.`);
    return {
      dir: folder,
      frames: index.frames.map((f) => ({ path: path.join(folder, f.file), iteration: f.iteration, loss: f.loss })),
      contentPath: index.content ? path.join(folder, index.content) : null,
    };
  }
  const images = names.filter((n) => IMAGE_FILE.test(n) && n !== CONTENT_FILE);
  if (images.length === 0) throw new NstError('BAD_ARGUMENT', `${folder} holds no frames (no ${FRAMES_INDEX_FILE}, no PNG/JPEG/WebP files).`);
  const numbered = images.map((name) => {
    const digits = /(\d+)\D*$/.exec(name)?.[1];
    return { name, number: digits === undefined ? null : Number(digits) };
  });
  numbered.sort((a, b) => (a.number ?? -1) - (b.number ?? -1) || a.name.localeCompare(b.name));
  return {
    dir: folder,
    frames: numbered.map(({ name, number }) => ({ path: path.join(folder, name), iteration: number, loss: null })),
    contentPath: names.includes(CONTENT_FILE) ? path.join(folder, CONTENT_FILE) : null,
  };
}
