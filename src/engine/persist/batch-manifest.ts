// A batch: many content images under one setting set. Input expansion, collision-safe output names, and the
// manifest in the output folder that makes a batch resumable: written atomically at every change of an item.

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import * as v from 'valibot';
import { removeStaleTemporaries, writeFileAtomic } from '../sys/atomic-file.js';
import { readTextIfPresent } from '../sys/path-exists.js';
import { NstError } from '../errors.js';

/** The manifest's file name in the output folder. */
export const MANIFEST_NAME = 'nst-batch.json';
const MANIFEST_VERSION = 1;

/** Extensions taken as images when a folder or a glob is expanded (sharp decodes them all). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif'];

export function isImageName(filePath: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(filePath).toLowerCase());
}

export interface ExpandedInputs {
  /** Absolute paths, each folder's and each glob's sorted, in the order the inputs were given, without repeats. */
  readonly files: string[];
  /** Files a folder or a glob held that are not images by their extension: left out, for a notice. */
  readonly ignored: string[];
}

/**
 * Expands content inputs: a folder → the images directly in it; a glob (`frames/*.png`, `**` and `{a,b}` too) →
 * the images it matches; a file → itself, whatever its extension (named explicitly, it is tried and reported if
 * it is not an image). Files a folder or glob finds directly inside `excludeDir` (the batch's output folder) are
 * left out: they are outputs. FILE_NOT_FOUND when an input that is not a glob does not exist; BAD_ARGUMENT when
 * nothing is found, or when a folder given is `excludeDir` or a file given lies directly in it (photos and
 * paintings would mix).
 */
export async function expandContentInputs(inputs: readonly string[], options: { cwd?: string; excludeDir?: string } = {}): Promise<ExpandedInputs> {
  const cwd = options.cwd ?? process.cwd();
  const excluded = options.excludeDir ? path.resolve(cwd, options.excludeDir) : null;
  const files: string[] = [];
  const ignored: string[] = [];
  const seen = new Set<string>();
  let outputs = 0;
  const add = (file: string): void => {
    if (seen.has(file)) return;
    if (excluded !== null && path.dirname(file) === excluded) {
      outputs++;
      return;
    }
    seen.add(file);
    files.push(file);
  };
  const mixed = (what: string): NstError =>
    new NstError(
      'BAD_ARGUMENT',
      `${what} the output folder: the paintings would land among the photos (one could be written over a photo) and a rerun would take them for photos. Choose another output folder (a subfolder such as ${path.join(excluded!, 'painted')} is fine).`,
    );
  for (const input of inputs) {
    const absolute = path.resolve(cwd, input);
    const kind = await stat(absolute).then(
      (s) => (s.isDirectory() ? 'dir' : 'file'),
      () => null,
    );
    let found: string[];
    if (kind === 'file') {
      // Named on its own, it is a photo the user means, not an output to leave out.
      if (path.dirname(absolute) === excluded) throw mixed(`${absolute} is a content image inside`);
      add(absolute);
      continue;
    } else if (kind === 'dir') {
      if (absolute === excluded) throw mixed(`${absolute} is both a content folder and`);
      const entries = await readdir(absolute, { withFileTypes: true });
      found = entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => path.join(absolute, e.name));
    } else if (isDynamicPattern(input)) {
      // Globs speak forward slashes on every platform.
      found = (await glob(input.split(path.sep).join('/'), { cwd, absolute: true, onlyFiles: true, expandDirectories: false })).map((f) => path.resolve(f));
    } else {
      throw new NstError('FILE_NOT_FOUND', `${input}: no such file or folder (and not a glob pattern).`);
    }
    for (const file of found.sort(compareNames)) {
      if (isImageName(file)) add(file);
      else ignored.push(file);
    }
  }
  if (files.length === 0) {
    const left = outputs > 0 ? `; ${outputs} found in the output folder ${excluded} are left out as outputs` : '';
    throw new NstError('BAD_ARGUMENT', `No content images found in ${inputs.join(', ')} (looked for ${IMAGE_EXTENSIONS.join(' ')}${left}).`);
  }
  return { files, ignored };
}

/** Code-point order, so a batch's order does not depend on the locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Output file names (no folder) for `inputs`, distinct from each other and from `taken`, compared
 * case-insensitively (macOS and Windows folders are): `photo.jpg` → `photo.png`; when two inputs share a stem
 * (`a.jpg`, `a.png`) each keeps its extension in the name (`a_jpg.png`, `a_png.png`); a remaining clash (the same
 * name in two folders) is numbered (`a_png_2.png`). Deterministic for a given input order.
 */
export function assignOutputNames(inputs: readonly string[], extension: string, taken: Iterable<string> = []): string[] {
  const used = new Set([...taken].map((name) => name.toLowerCase()));
  const stemOf = (file: string): string => path.basename(file, path.extname(file));
  const stemCount = new Map<string, number>();
  for (const input of inputs) {
    const key = stemOf(input).toLowerCase();
    stemCount.set(key, (stemCount.get(key) ?? 0) + 1);
  }
  return inputs.map((input) => {
    const stem = stemOf(input);
    const sourceExtension = path.extname(input).slice(1).toLowerCase();
    const shared = (stemCount.get(stem.toLowerCase()) ?? 0) > 1;
    const base = shared && sourceExtension ? `${stem}_${sourceExtension}` : stem;
    let name = `${base}.${extension}`;
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${base}_${n}.${extension}`;
    used.add(name.toLowerCase());
    return name;
  });
}

/** A SHA-256 of a value's JSON with object keys sorted, so equal settings hash equally whatever their key order. */
export function settingsHash(settings: unknown): string {
  return createHash('sha256').update(canonicalJson(settings)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareNames(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What differs between two settings objects, one `key: old → new` each (top-level keys), for a refusal message. */
export function describeSettingsChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(compareNames);
  const show = (v: unknown): string => (v === undefined ? '(none)' : canonicalJson(v));
  return keys.filter((k) => canonicalJson(before[k] ?? null) !== canonicalJson(after[k] ?? null)).map((k) => `${k}: ${show(before[k])} → ${show(after[k])}`);
}

/** A file's SHA-256 (style images enter the settings hash by content, so an edited style is a different batch). */
export async function fileSha256(filePath: string): Promise<string> {
  return createHash('sha256').update(await readFile(filePath)).digest('hex');
}

export type BatchItemStatus = 'pending' | 'running' | 'done' | 'failed';

/** Enough of a stat to tell a replaced file from the same one (strings: inodes can pass 2^53). */
export interface FileIdentity {
  ino: string;
  mtimeNs: string;
}

async function identify(filePath: string): Promise<FileIdentity | null> {
  try {
    const s = await stat(filePath, { bigint: true });
    return { ino: String(s.ino), mtimeNs: String(s.mtimeNs) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export interface BatchItem {
  /** The content image (absolute path, or the name the app gave it). */
  readonly input: string;
  /** The output's file name in the output folder. */
  readonly output: string;
  status: BatchItemStatus;
  /**
   * While running: the output file that was there when the item started (inode and mtime), or null for none. A
   * crash is told from a finished write by whether the file changed: outputs are renamed into place, so a new
   * one is always a new inode (clocks and coarse file times play no part).
   */
  outputBefore?: FileIdentity | null;
  /** Seconds the finished item took. */
  seconds?: number;
  error?: { code: string; message: string };
}

export interface BatchManifest {
  readonly version: typeof MANIFEST_VERSION;
  settingsHash: string;
  /** The settings the hash was made of, to say what changed when a rerun differs. */
  settings: Record<string, unknown>;
  /** What the front end needs to run the batch again (the CLI's options, the app's request); opaque here. */
  recipe: unknown;
  items: BatchItem[];
  createdAt: string;
  updatedAt: string;
}

export interface BatchCounts {
  total: number;
  pending: number;
  done: number;
  failed: number;
}

/** Thrown by BatchLedger.open when the folder holds a batch made with other settings (and force was not given). */
export class BatchSettingsMismatch extends NstError {
  constructor(
    readonly manifestPath: string,
    readonly changes: readonly string[],
  ) {
    super('BAD_ARGUMENT', `${manifestPath} holds a batch made with other settings (${changes.join('; ')}).`);
  }
}

export interface OpenBatchOptions {
  /**
   * Content inputs of this invocation (expanded): items not in the manifest yet are appended; unfinished items
   * not among them are dropped.
   */
  readonly inputs: readonly string[];
  /** Output extension without the dot (png, jpg). */
  readonly extension: string;
  readonly settings: Record<string, unknown>;
  readonly recipe: unknown;
  /** Settings differ: start over with these (every item pending again) instead of refusing. */
  readonly force?: boolean;
}

/** The manifest of one output folder, and every change to an item written through to disk before it returns. */
export class BatchLedger {
  private constructor(
    readonly dir: string,
    private readonly manifest: BatchManifest,
    /** Items found 'running' whose output was complete on disk: counted as done, never redone. */
    readonly recovered: number,
  ) {}

  get manifestPath(): string {
    return path.join(this.dir, MANIFEST_NAME);
  }

  get items(): readonly Readonly<BatchItem>[] {
    return this.manifest.items;
  }

  get recipe(): unknown {
    return this.manifest.recipe;
  }

  outputPath(index: number): string {
    return path.join(this.dir, this.item(index).output);
  }

  counts(): BatchCounts {
    const counts: BatchCounts = { total: this.manifest.items.length, pending: 0, done: 0, failed: 0 };
    for (const item of this.manifest.items) {
      if (item.status === 'done') counts.done++;
      else if (item.status === 'failed') counts.failed++;
      else counts.pending++;
    }
    return counts;
  }

  /** The manifest in `dir`, or null when there is none. BAD_ARGUMENT when the file is not one. */
  static async read(dir: string): Promise<BatchManifest | null> {
    const file = path.join(dir, MANIFEST_NAME);
    const text = await readTextIfPresent(file);
    if (text === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new NstError('BAD_ARGUMENT', `${file} is not valid JSON, so it is not a batch manifest: move it away or choose another output folder.`);
    }
    const problem = manifestProblem(value);
    if (problem) throw new NstError('BAD_ARGUMENT', `${file} is not a batch manifest (version ${MANIFEST_VERSION}: ${problem}): move it away or choose another output folder.`);
    return value as BatchManifest;
  }

  /**
   * Opens (or creates) the batch in `dir` for these settings. An existing manifest with the same settings keeps
   * its finished items; 'running' items (a crash or kill mid-item) count as done only when their output file was
   * replaced after they started (outputs are written atomically, so such a file is whole), else they are redone.
   * Other settings throw BatchSettingsMismatch unless `force`, which makes every item pending again. Temporary
   * files of writers that were killed mid-write are deleted first (a live process's are kept).
   */
  static async open(dir: string, options: OpenBatchOptions): Promise<BatchLedger> {
    // Outputs and the manifest are written temp-file-then-rename: a batch killed mid-write left its temp file.
    await removeStaleTemporaries(dir);
    const existing = await BatchLedger.read(dir);
    const hash = settingsHash(options.settings);
    const now = new Date().toISOString();
    let recovered = 0;
    let manifest: BatchManifest;
    if (!existing) {
      manifest = { version: MANIFEST_VERSION, settingsHash: hash, settings: options.settings, recipe: options.recipe, items: [], createdAt: now, updatedAt: now };
    } else {
      manifest = existing;
      if (existing.settingsHash !== hash) {
        if (!options.force) throw new BatchSettingsMismatch(path.join(dir, MANIFEST_NAME), describeSettingsChanges(existing.settings, options.settings));
        for (const item of manifest.items) resetItem(item);
      }
      manifest.settingsHash = hash;
      manifest.settings = options.settings;
      manifest.recipe = options.recipe;
      for (const item of manifest.items) {
        if (item.status !== 'running') continue;
        const now = await identify(path.join(dir, item.output));
        const before = item.outputBefore;
        if (now !== null && before !== undefined && (before === null || before.ino !== now.ino || before.mtimeNs !== now.mtimeNs)) {
          item.status = 'done';
          recovered++;
        } else resetItem(item);
      }
    }
    // An unfinished item whose input is no longer among the inputs (a bad file deleted, say) leaves the batch;
    // finished ones stay, with their outputs.
    const current = new Set(options.inputs);
    manifest.items = manifest.items.filter((item) => item.status === 'done' || current.has(item.input));
    const known = new Set(manifest.items.map((item) => item.input));
    const added = options.inputs.filter((input) => !known.has(input));
    const names = assignOutputNames(added, options.extension, manifest.items.map((item) => item.output));
    added.forEach((input, i) => manifest.items.push({ input, output: names[i]!, status: 'pending' }));
    const ledger = new BatchLedger(dir, manifest, recovered);
    await ledger.save();
    return ledger;
  }

  /** Replaces the recipe (a front end's own state that must survive a restart, such as "paused"). */
  async setRecipe(recipe: unknown): Promise<void> {
    this.manifest.recipe = recipe;
    await this.save();
  }

  /** Indices of the items still to do (pending, or failed before: a rerun tries them again), in order. */
  todo(): number[] {
    return this.manifest.items.flatMap((item, i) => (item.status === 'done' ? [] : [i]));
  }

  async markRunning(index: number): Promise<void> {
    const item = this.item(index);
    resetItem(item);
    item.status = 'running';
    item.outputBefore = await identify(this.outputPath(index));
    await this.save();
  }

  /** Call only after the output file is written. */
  async markDone(index: number, seconds: number): Promise<void> {
    const item = this.item(index);
    item.status = 'done';
    item.seconds = seconds;
    delete item.error;
    delete item.outputBefore;
    await this.save();
  }

  async markFailed(index: number, error: { code: string; message: string }): Promise<void> {
    const item = this.item(index);
    item.status = 'failed';
    item.error = { code: error.code, message: error.message };
    delete item.outputBefore;
    await this.save();
  }

  /** An interrupted item: done again next time. */
  async markPending(index: number): Promise<void> {
    resetItem(this.item(index));
    await this.save();
  }

  private item(index: number): BatchItem {
    const item = this.manifest.items[index];
    if (!item) throw new RangeError(`index: no batch item ${index} (the batch has ${this.manifest.items.length}).`);
    return item;
  }

  private async save(): Promise<void> {
    this.manifest.updatedAt = new Date().toISOString();
    await writeFileAtomic(this.manifestPath, `${JSON.stringify(this.manifest, null, 2)}\n`);
  }
}

function resetItem(item: BatchItem): void {
  item.status = 'pending';
  delete item.outputBefore;
  delete item.seconds;
  delete item.error;
}

const BatchItemSchema = v.object({
  input: v.string('a string'),
  // A bare file name: a manifest never sends an output outside its folder.
  output: v.pipe(v.string('a file name'), v.check((name) => name !== '' && path.basename(name) === name, 'a file name in this folder')),
  status: v.picklist(['pending', 'running', 'done', 'failed'] as const, 'pending, running, done or failed'),
  outputBefore: v.optional(v.nullable(v.object({ ino: v.string('a string'), mtimeNs: v.string('a string') }, 'an object with ino and mtimeNs'))),
  seconds: v.optional(v.pipe(v.number('a number of seconds'), v.finite('a number of seconds'), v.minValue(0, 'a number of seconds ≥ 0'))),
  error: v.optional(v.object({ code: v.string('a string'), message: v.string('a string') }, 'an object with code and message')),
}, 'an object');

/** What BatchLedger.read accepts: a manifest this version wrote, every item's output inside the folder. */
const BatchManifestSchema = v.object({
  version: v.literal(MANIFEST_VERSION, `${MANIFEST_VERSION}`),
  settingsHash: v.string('a string'),
  settings: v.pipe(v.record(v.string(), v.unknown(), 'an object'), v.check((value) => !Array.isArray(value), 'an object')),
  recipe: v.optional(v.unknown()),
  items: v.array(BatchItemSchema, 'a list'),
  createdAt: v.string('a date'),
  updatedAt: v.string('a date'),
}, 'an object');

/** Why `value` is not a batch manifest (the first field that is wrong and what it should be), or null when it is one. */
function manifestProblem(value: unknown): string | null {
  const result = v.safeParse(BatchManifestSchema, value);
  if (result.success) return null;
  const issue = result.issues[0];
  const field = v.getDotPath(issue) ?? 'the manifest';
  // A key the object lacks is reported by the object, with the key (quoted) as what was expected.
  if (issue.type === 'object' && issue.expected?.startsWith('"')) return `${field} is missing`;
  const got = JSON.stringify(issue.input) ?? String(issue.input);
  return `${field} should be ${issue.message}, got ${got.length > 60 ? `${got.slice(0, 60)}…` : got}`;
}
