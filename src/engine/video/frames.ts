// A bounded on-disk spool of a run's frames: numbered PNG or JPEG files and their index (frame-index.ts), written
// as frames arrive; reopened by a resumed run, which goes on filling it from its checkpoint's iteration.

import { mkdir, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { temporaryOwner, writeFileAtomicSync } from '../sys/atomic-file.js';
import { pathExists } from '../sys/path-exists.js';
import { makeTempFolder, removeStaleTempFolders } from '../sys/temp-folders.js';
import { NstError } from '../errors.js';
import { chwToHwcUint8, type PlanarImage } from '../io/image.js';
import { loadSharp } from '../io/sharp.js';
import {
  appendIndexRecords,
  CONTENT_FILE,
  FRAME_FILE,
  frameFileName,
  FRAMES_INDEX_FILE,
  LEGACY_FRAMES_INDEX_FILE,
  readFramesIndex,
  spoolRecord,
  writeIndex,
  type FrameEntry,
  type FrameFileFormat,
  type IndexRecord,
} from './frame-index.js';

export const DEFAULT_FRAME_EVERY = 10;

/** Under the data folder, one spool per run: `run-frames/<runId>/` (the studio's runs, `nst stylize --video`'s). */
export const RUN_FRAMES_FOLDER = 'run-frames';
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A run's spool folder under the data folder `root`: kept with the run, so a resumed run goes on filling it. */
export function runFramesDir(root: string, runId: string): string {
  // Run ids become folder names.
  if (!RUN_ID.test(runId)) throw new RangeError(`runId must be 1 to 64 letters, digits, _ or -, got ${JSON.stringify(runId)}.`);
  return path.join(root, RUN_FRAMES_FOLDER, runId);
}
/** JPEG frames: high enough that the video encoder, not the spool, decides the quality. */
export const SPOOL_JPEG_QUALITY = 95;

export interface FrameSpoolResumeOptions {
  /** The interrupted run's spool folder. */
  dir: string;
  /** The iteration the run continues from (its checkpoint's): frames taken after it are dropped. */
  upTo: number;
}

export interface FrameSpoolOptions {
  /**
   * Folder for the frames (created if missing; must not already hold a spool). Default: a new temp folder named for
   * this process (those of processes that are gone are removed first).
   */
  dir?: string;
  /** Capture every N iterations (plus the first and last). Default 10. */
  frameEvery?: number;
  /** PNG (lossless, default) or JPEG at quality 95 (about 5x smaller at 1024 px). */
  format?: FrameFileFormat;
}

/**
 * Frames go to disk as they arrive; memory holds only the ones still being encoded (as 8-bit RGB), so a long run
 * costs disk, not RAM. Writes are serialised: callers may fire add() from a synchronous event handler.
 *
 * Files and index lines are written synchronously once a frame is encoded: the spool shares its thread with the
 * run, so the event loop turns about once an iteration and every awaited fs call would make frames lag the run.
 * The index is appended to, a line a frame or loss, never rewritten while the run goes on.
 */
export class FrameSpool {
  private entries: FrameEntry[] = [];
  private size: { width: number; height: number } | null = null;
  private content: string | null = null;
  /** Whether the index holds its spool line and the frames' size line (the first append writes what is missing). */
  private indexStarted = false;
  private sizeRecorded = false;
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  private constructor(
    readonly dir: string,
    readonly frameEvery: number,
    readonly format: FrameFileFormat,
    /** Whether the spool made its folder (remove() then deletes the folder itself). */
    private readonly ownsDir: boolean,
  ) {}

  static async create(options: FrameSpoolOptions = {}): Promise<FrameSpool> {
    const frameEvery = options.frameEvery ?? DEFAULT_FRAME_EVERY;
    if (!Number.isSafeInteger(frameEvery) || frameEvery < 1) {
      throw new NstError('BAD_ARGUMENT', `frameEvery must be a whole number of at least 1, got ${String(frameEvery)}.`);
    }
    const format = options.format ?? 'png';
    if (format !== 'png' && format !== 'jpeg') throw new NstError('BAD_ARGUMENT', `The frame format must be png or jpeg, got "${String(format)}".`);
    if (options.dir === undefined) {
      // Spools of runs that were killed (their pid is gone) go first: nothing else would ever remove them.
      await removeStaleTempFolders('frames');
      return new FrameSpool(await makeTempFolder('frames'), frameEvery, format, true);
    }
    const dir = path.resolve(options.dir);
    await mkdir(dir, { recursive: true });
    for (const name of [FRAMES_INDEX_FILE, LEGACY_FRAMES_INDEX_FILE]) {
      if (await pathExists(path.join(dir, name))) {
        throw new NstError('BAD_ARGUMENT', `${dir} already holds a frame spool (${name}); use an empty folder for a new run.`);
      }
    }
    return new FrameSpool(dir, frameEvery, format, false);
  }

  /**
   * Reopens an interrupted run's spool so the resumed run goes on filling it. The frames up to `upTo` (the
   * checkpoint's iteration) stay as they are; those the interrupted process took after it are dropped, since the
   * resumed run takes those iterations again: the index is rewritten first, once, with only the frames kept (a
   * reader never finds a listed frame missing; a line torn by the kill goes with it), then their files, and any
   * frame or temp file a kill left unlisted, are deleted. New frames continue the numbering. The spool's own frame
   * interval and format apply. Throws FILE_NOT_FOUND when the folder holds no spool with a frame to continue from,
   * BAD_ARGUMENT when its index is not one nst wrote.
   */
  static async resume(options: FrameSpoolResumeOptions): Promise<FrameSpool> {
    const { upTo } = options;
    if (!Number.isSafeInteger(upTo) || upTo < 0) throw new NstError('BAD_ARGUMENT', `upTo must be a whole number of at least 0, got ${String(upTo)}.`);
    const dir = path.resolve(options.dir);
    const index = await readFramesIndex(dir).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw error;
    });
    if (!index) throw new NstError('FILE_NOT_FOUND', `There is no frame spool to continue in ${dir} (no ${FRAMES_INDEX_FILE}).`);
    // Frames are captured in iteration order and named by position: what stays is the prefix up to the checkpoint.
    const kept: FrameEntry[] = [];
    for (const [position, entry] of index.frames.entries()) {
      const previous = kept.at(-1);
      if (entry.iteration > upTo || (previous && entry.iteration <= previous.iteration) || entry.file !== frameFileName(position, index.format)) break;
      if (!(await pathExists(path.join(dir, entry.file)))) break;
      kept.push(entry);
    }
    if (kept.length === 0) throw new NstError('FILE_NOT_FOUND', `The frame spool in ${dir} holds no frame up to iteration ${upTo} to continue from.`);
    const spool = new FrameSpool(dir, index.frameEvery, index.format, false);
    spool.entries = kept;
    spool.size = { width: index.width, height: index.height };
    spool.content = index.content !== null && (await pathExists(path.join(dir, index.content))) ? index.content : null;
    writeIndex(dir, { width: index.width, height: index.height, format: index.format, frameEvery: index.frameEvery, content: spool.content, frames: kept });
    spool.indexStarted = true;
    spool.sizeRecorded = true;
    const listed = new Set(kept.map((e) => e.file));
    const stale = (await readdir(dir)).filter((name) => (FRAME_FILE.test(name) && !listed.has(name)) || temporaryOwner(name) !== null || name === LEGACY_FRAMES_INDEX_FILE);
    await Promise.all(stale.map((name) => unlink(path.join(dir, name)).catch(() => undefined)));
    return spool;
  }

  get frames(): readonly FrameEntry[] {
    return this.entries;
  }

  /** Whether the spool keeps the content image (a resumed spool may have it already). */
  get hasContent(): boolean {
    return this.content !== null;
  }

  /** Whether a frame at this iteration belongs in the video: the first, every frameEvery-th, the last. */
  wants(iteration: number, isLast: boolean): boolean {
    return iteration === 0 || isLast || iteration % this.frameEvery === 0;
  }

  /** Queues the frame for writing (the pixels are copied to 8 bits at once); resolves once it is on disk. */
  add(image: PlanarImage, iteration: number, loss: number | null = null): Promise<void> {
    if (this.size && (image.width !== this.size.width || image.height !== this.size.height)) {
      const message = `Frame at iteration ${iteration} is ${image.width}x${image.height}; this spool holds ${this.size.width}x${this.size.height} frames.`;
      return Promise.reject(new NstError('BAD_ARGUMENT', message));
    }
    const size = (this.size ??= { width: image.width, height: image.height });
    const position = this.entries.length;
    const entry: FrameEntry = { file: frameFileName(position, this.format), iteration, loss };
    this.entries.push(entry);
    const pixels = chwToHwcUint8(image.data, image.width, image.height);
    return this.enqueue(async () => {
      const bytes = await this.encode(pixels, image.width, image.height);
      writeFileAtomicSync(path.join(this.dir, entry.file), bytes);
      // Listed once the file is there, with its loss as known now (one reported later follows as a loss line).
      const sizeLine: IndexRecord[] = this.sizeRecorded ? [] : [{ type: 'size', ...size }];
      this.sizeRecorded = true;
      this.append([...sizeLine, { type: 'frame', ...this.entries[position]! }]);
    });
  }

  /** Records the loss of an already captured frame (the run reports it one iteration later). */
  setLoss(iteration: number, loss: number): Promise<void> {
    const index = this.entries.findIndex((e) => e.iteration === iteration);
    if (index < 0) return this.flush();
    this.entries[index] = { ...this.entries[index]!, loss };
    return this.enqueue(async () => this.append([{ type: 'loss', iteration, loss }]));
  }

  /** Keeps the content image (at the run's size) for side-by-side videos. */
  setContent(image: PlanarImage): Promise<void> {
    const pixels = chwToHwcUint8(image.data, image.width, image.height);
    this.content = CONTENT_FILE;
    return this.enqueue(async () => {
      const png = await (await loadSharp())(pixels, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
      writeFileAtomicSync(path.join(this.dir, CONTENT_FILE), png);
      this.append([{ type: 'content', file: CONTENT_FILE }]);
    });
  }

  /** Waits for every queued write; throws the first write error, if any. */
  async flush(): Promise<void> {
    await this.queue;
    if (this.failure) throw this.failure;
  }

  /** Deletes the frames: the whole folder when the spool made it, else only the files it wrote. */
  async remove(): Promise<void> {
    await this.queue;
    if (this.ownsDir) {
      await rm(this.dir, { recursive: true, force: true });
      return;
    }
    const files = [...this.entries.map((e) => e.file), FRAMES_INDEX_FILE, ...(this.content ? [this.content] : [])];
    await Promise.all(files.map((f) => unlink(path.join(this.dir, f)).catch(() => undefined)));
    await rmdir(this.dir).catch(() => undefined);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(async () => {
      if (this.failure) return;
      try {
        await task();
      } catch (error) {
        this.failure = error;
      }
    });
    return this.flush();
  }

  private async encode(pixels: Uint8Array, width: number, height: number): Promise<Buffer> {
    const image = (await loadSharp())(pixels, { raw: { width, height, channels: 3 } });
    // 4:4:4 so thin coloured strokes keep their colour; the video encoder subsamples later if it must.
    return this.format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: SPOOL_JPEG_QUALITY, chromaSubsampling: '4:4:4' }).toBuffer();
  }

  /** Appends index lines, the spool line first if the index has none yet. */
  private append(records: IndexRecord[]): void {
    const spoolLine = this.indexStarted ? [] : [spoolRecord(this.format, this.frameEvery)];
    appendIndexRecords(this.dir, [...spoolLine, ...records]);
    this.indexStarted = true;
  }
}
