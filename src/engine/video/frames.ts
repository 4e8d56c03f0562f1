// A bounded on-disk spool of a run's frames (numbered PNG or JPEG files and a frames.json index), and the
// recorder that fills one from a run's events: every N iterations, always the first and the last frame.

import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { temporaryOwner, writeFileAtomicSync } from '../sys/atomic-file.js';
import { pathExists } from '../sys/path-exists.js';
import { NstError } from '../errors.js';
import { chwToHwcUint8, type PlanarImage } from '../io/image.js';
import type { RenderEvent, RunResult } from '../render/run.js';

export const FRAMES_INDEX_FILE = 'frames.json';
export const CONTENT_FILE = 'content.png';
export const DEFAULT_FRAME_EVERY = 10;
/** Frames a recorder holds captured but not yet on disk before it skips intermediate ones (FrameRecorderOptions). */
export const DEFAULT_FRAME_BACKLOG = 4;
/** JPEG frames: high enough that the video encoder, not the spool, decides the quality. */
export const SPOOL_JPEG_QUALITY = 95;

export type FrameFileFormat = 'png' | 'jpeg';

export interface FrameEntry {
  /** File name inside the spool folder: frame_000000.png, frame_000001.png, … in capture order. */
  readonly file: string;
  /** Optimizer iterations done when the frame was taken (0 = the start image). */
  readonly iteration: number;
  /** Total loss of exactly this image, or null where it is not known. */
  readonly loss: number | null;
}

export interface FramesIndex {
  readonly version: 1;
  readonly width: number;
  readonly height: number;
  readonly format: FrameFileFormat;
  readonly frameEvery: number;
  /** The content image at the run's size (for side-by-side videos), or null. */
  readonly content: string | null;
  readonly frames: readonly FrameEntry[];
}

export interface FrameSpoolResumeOptions {
  /** The interrupted run's spool folder. */
  dir: string;
  /** The iteration the run continues from (its checkpoint's): frames taken after it are dropped. */
  upTo: number;
}

export interface FrameSpoolOptions {
  /** Folder for the frames (created if missing; must not already hold a spool). Default: a new temp folder. */
  dir?: string;
  /** Capture every N iterations (plus the first and last). Default 10. */
  frameEvery?: number;
  /** PNG (lossless, default) or JPEG at quality 95 (about 5x smaller at 1024 px). */
  format?: FrameFileFormat;
}

/**
 * Frames go to disk as they arrive; memory holds only the ones still being encoded (as 8-bit RGB, a quarter of
 * the run's float image), so a 2,000-iteration run at 1024 px costs disk (≈1.5 MB a PNG frame), not RAM.
 * Writes are serialised: callers may fire add() from a synchronous event handler without awaiting it.
 *
 * Files and the index are written synchronously once a frame is encoded. The spool shares its thread with the run,
 * and onnxruntime-node runs the graph on that thread (session.run is synchronous inside a setImmediate), so the event
 * loop turns about once an iteration: every awaited fs call costs up to a whole iteration. Written with fs/promises
 * (open, write, close, rename for the frame, the same for the index, again for its loss) a frame took ~13 turns, more
 * than the 10 iterations between frames, and the spool fell further behind all run (20-35 iterations at 64 px).
 * Synchronous, a frame costs one turn (sharp's encode) and well under a millisecond of writing at 64 px.
 */
export class FrameSpool {
  private entries: FrameEntry[] = [];
  /** Entries whose files are on disk (a prefix: writes run in order); only these go into the index. */
  private written = 0;
  private size: { width: number; height: number } | null = null;
  private content: string | null = null;
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
      const dir = await mkdtemp(path.join(os.tmpdir(), 'nst-frames-'));
      return new FrameSpool(dir, frameEvery, format, true);
    }
    const dir = path.resolve(options.dir);
    await mkdir(dir, { recursive: true });
    if (await pathExists(path.join(dir, FRAMES_INDEX_FILE))) {
      throw new NstError('BAD_ARGUMENT', `${dir} already holds a frame spool (${FRAMES_INDEX_FILE}); use an empty folder for a new run.`);
    }
    return new FrameSpool(dir, frameEvery, format, false);
  }

  /**
   * Reopens an interrupted run's spool so the resumed run goes on filling it. The frames up to `upTo` (the
   * checkpoint's iteration) stay as they are; those the interrupted process took after it are dropped, since the
   * resumed run takes those iterations again: the index is rewritten first (a reader never finds a listed frame
   * missing), then their files, and any frame or temp file a kill left unlisted, are deleted. New frames continue
   * the numbering. The spool's own frame interval and format apply. Throws FILE_NOT_FOUND when the folder holds no
   * spool with a frame to continue from, BAD_ARGUMENT when its index is not one nst wrote.
   */
  static async resume(options: FrameSpoolResumeOptions): Promise<FrameSpool> {
    const { upTo } = options;
    if (!Number.isSafeInteger(upTo) || upTo < 0) throw new NstError('BAD_ARGUMENT', `upTo must be a whole number of at least 0, got ${String(upTo)}.`);
    const dir = path.resolve(options.dir);
    let text: string;
    try {
      text = await readFile(path.join(dir, FRAMES_INDEX_FILE), 'utf8');
    } catch (error) {
      throw new NstError('FILE_NOT_FOUND', `There is no frame spool to continue in ${dir} (no ${FRAMES_INDEX_FILE}).`, { cause: error });
    }
    const index = parseIndex(text, dir);
    const sized = Number.isSafeInteger(index.width) && index.width > 0 && Number.isSafeInteger(index.height) && index.height > 0;
    if (!sized || (index.format !== 'png' && index.format !== 'jpeg') || !Number.isSafeInteger(index.frameEvery) || index.frameEvery < 1) {
      throw new NstError('BAD_ARGUMENT', `${path.join(dir, FRAMES_INDEX_FILE)} is not a frame index nst wrote (its size, format or frame interval is missing).`);
    }
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
    spool.written = kept.length;
    spool.size = { width: index.width, height: index.height };
    spool.content = index.content !== null && (await pathExists(path.join(dir, index.content))) ? index.content : null;
    spool.saveIndex();
    const listed = new Set(kept.map((e) => e.file));
    const stale = (await readdir(dir)).filter((name) => (FRAME_FILE.test(name) && !listed.has(name)) || temporaryOwner(name) !== null);
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
    this.size ??= { width: image.width, height: image.height };
    const position = this.entries.length;
    const entry: FrameEntry = { file: frameFileName(position, this.format), iteration, loss };
    this.entries.push(entry);
    const pixels = chwToHwcUint8(image.data, image.width, image.height);
    return this.enqueue(async () => {
      const bytes = await this.encode(pixels, image.width, image.height);
      writeFileAtomicSync(path.join(this.dir, entry.file), bytes);
      this.written = position + 1;
      this.saveIndex();
    });
  }

  /** Records the loss of an already captured frame (the run reports it one iteration later). */
  setLoss(iteration: number, loss: number): Promise<void> {
    const index = this.entries.findIndex((e) => e.iteration === iteration);
    if (index < 0) return this.flush();
    this.entries[index] = { ...this.entries[index]!, loss };
    return this.enqueue(async () => this.saveIndex());
  }

  /** Keeps the content image (at the run's size) for side-by-side videos. */
  setContent(image: PlanarImage): Promise<void> {
    const pixels = chwToHwcUint8(image.data, image.width, image.height);
    this.content = CONTENT_FILE;
    return this.enqueue(async () => {
      const png = await sharp(pixels, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
      writeFileAtomicSync(path.join(this.dir, CONTENT_FILE), png);
      this.saveIndex();
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

  private encode(pixels: Uint8Array, width: number, height: number): Promise<Buffer> {
    const image = sharp(pixels, { raw: { width, height, channels: 3 } });
    // 4:4:4 so thin coloured strokes keep their colour; the video encoder subsamples later if it must.
    return this.format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: SPOOL_JPEG_QUALITY, chromaSubsampling: '4:4:4' }).toBuffer();
  }

  private saveIndex(): void {
    const index: FramesIndex = {
      version: 1,
      width: this.size?.width ?? 0,
      height: this.size?.height ?? 0,
      format: this.format,
      frameEvery: this.frameEvery,
      content: this.content,
      // A reader (an export of a run still going) must find every listed file.
      frames: this.entries.slice(0, this.written),
    };
    writeFileAtomicSync(path.join(this.dir, FRAMES_INDEX_FILE), Buffer.from(`${JSON.stringify(index, null, 1)}\n`));
  }
}

export interface FrameRecorderOptions {
  /**
   * Applied to every frame before it is spooled, in order (e.g. resize a coarse scale's frame to the output size,
   * keep the photo's colours). Frames of one spool must all have one size.
   */
  prepare?: (image: PlanarImage) => PlanarImage | Promise<PlanarImage>;
  /**
   * At most this many frames are held captured but not yet on disk (each holds its float image until then); an
   * intermediate frame captured while that many are waiting is skipped. Default DEFAULT_FRAME_BACKLOG.
   */
  maxBacklog?: number;
}

/**
 * Fills a spool from a run: give it the start image, pass it every run event, then the result. The run reports
 * an iteration's loss at the start of the next one, so each frame's loss is filled in one event later (and the
 * last frame's from the result): the caption then shows the loss of exactly the image on screen.
 * Set the run's `imageEvery` to `recorder.imageEvery` (or 1) so progress events carry the frames it wants.
 * Frames are written behind the run; should writing fall `maxBacklog` frames behind, intermediate frames are skipped
 * rather than held (memory stays bounded, and checkpoints, which wait for the queued frames, are not held up).
 */
export class FrameRecorder {
  private chain: Promise<void> = Promise.resolve();
  private error: unknown = null;
  /** Frames go in iteration order: a resumed spool holds those up to its checkpoint already. */
  private lastCaptured: number;
  /** Frames queued and not yet on disk (nor failed). */
  private backlog = 0;
  private skipped = 0;
  private readonly maxBacklog: number;

  constructor(
    readonly spool: FrameSpool,
    private readonly options: FrameRecorderOptions = {},
  ) {
    this.lastCaptured = spool.frames.at(-1)?.iteration ?? -1;
    const maxBacklog = options.maxBacklog ?? DEFAULT_FRAME_BACKLOG;
    if (!Number.isSafeInteger(maxBacklog) || maxBacklog < 1) throw new RangeError(`maxBacklog must be a whole number of at least 1, got ${String(maxBacklog)}.`);
    this.maxBacklog = maxBacklog;
  }

  /** Intermediate frames skipped because writing had fallen maxBacklog frames behind. */
  get dropped(): number {
    return this.skipped;
  }

  get imageEvery(): number {
    return this.spool.frameEvery;
  }

  /** The image before the first step (iteration 0), and optionally the content image for side-by-side. */
  start(startImage: PlanarImage, content?: PlanarImage): void {
    this.capture(startImage, 0, null);
    if (content && !this.spool.hasContent) this.then(() => this.spool.setContent(content));
  }

  /**
   * A resumed run's checkpoint image, taken after `iteration` steps: spooled when a frame belongs there and the
   * interrupted process did not get to write it (its loss comes with the next progress event, as usual).
   */
  resumeFrom(image: PlanarImage, iteration: number): void {
    if (this.spool.wants(iteration, false)) this.capture(image, iteration, null);
  }

  /** A render event (iterations counted across the render's scales and tiles: its last is the render's last). */
  onEvent(event: RenderEvent): void {
    if (event.type !== 'progress') return;
    const { iteration, iterations } = event;
    // This event's loss is that of the image after iteration - 1 steps.
    const loss = event.loss.total;
    this.then(() => this.spool.setLoss(iteration - 1, loss));
    const isLast = iteration === iterations;
    if (event.image && this.spool.wants(iteration, isLast)) this.capture(event.image, iteration, null, !isLast);
  }

  /** Adds the final image unless it was captured already (a stop or convergence ends a run early), then flushes. */
  async finish(result: RunResult): Promise<readonly FrameEntry[]> {
    if (this.lastCaptured === result.iterations) {
      const loss = result.finalLoss.total;
      this.then(() => this.spool.setLoss(result.iterations, loss));
    } else {
      this.capture(result.image, result.iterations, result.finalLoss.total);
    }
    return this.close();
  }

  /**
   * Resolves once every frame captured so far is on disk, or the spool has failed; never rejects. A run's checkpoint
   * waits for it, so a resumed run finds every frame up to its checkpoint's iteration (it could not make them up).
   */
  async settled(): Promise<void> {
    await this.chain;
    await this.spool.flush().catch(() => undefined);
  }

  /**
   * Writes what is queued, without a final frame: the run is not over (the app is quitting and it will be
   * resumed into this spool).
   */
  async close(): Promise<readonly FrameEntry[]> {
    await this.chain;
    await this.spool.flush();
    if (this.error) throw this.error;
    return this.spool.frames;
  }

  /**
   * Queues a frame. Only an intermediate frame may be skipped, and only when it is captured: a frame once queued is
   * never skipped, so settled() (a checkpoint) covers every frame queued before it, and the first and last frames,
   * the checkpoint frame of a resumed run and the final one are always there. A skipped frame leaves a gap in the
   * sequence (still in iteration order, as FrameSpool.resume needs), and lastCaptured stays, so finish() adds the
   * final image if the last capture was the one skipped.
   */
  private capture(image: PlanarImage, iteration: number, loss: number | null, mayDrop = false): void {
    if (iteration <= this.lastCaptured) return;
    if (mayDrop && this.backlog >= this.maxBacklog) {
      this.skipped++;
      return;
    }
    this.lastCaptured = iteration;
    this.backlog++;
    const prepare = this.options.prepare;
    this.then(
      async () => this.spool.add(prepare ? await prepare(image) : image, iteration, loss),
      () => this.backlog--,
    );
  }

  /**
   * Steps run one after another, so frames land in order even when `prepare` is async; the first error is kept (later
   * steps are skipped). `settle` runs once the step is over, skipped or not.
   */
  private then(step: () => Promise<void>, settle?: () => void): void {
    this.chain = this.chain.then(async () => {
      try {
        if (!this.error) await step();
      } catch (error) {
        this.error = error;
      } finally {
        settle?.();
      }
    });
  }
}

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
 * The frames of a folder: a spool's frames.json order, or else every PNG/JPEG/WebP file sorted by the number in
 * its name (so `nst stylize --save-every N --frames-dir DIR` output works too; the number is taken as the iteration).
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
  if (names.includes(FRAMES_INDEX_FILE)) {
    const index = parseIndex(await readFile(path.join(folder, FRAMES_INDEX_FILE), 'utf8'), folder);
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

function parseIndex(text: string, folder: string): FramesIndex {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NstError('BAD_ARGUMENT', `${path.join(folder, FRAMES_INDEX_FILE)} is not valid JSON.`, { cause: error });
  }
  const index = value as Partial<FramesIndex>;
  const frames = index.frames;
  const valid =
    index.version === 1 &&
    Array.isArray(frames) &&
    frames.every((f: Partial<FrameEntry>) => typeof f.file === 'string' && !f.file.includes('/') && !f.file.includes('\\') && typeof f.iteration === 'number' && (f.loss === null || typeof f.loss === 'number'));
  if (!valid) throw new NstError('BAD_ARGUMENT', `${path.join(folder, FRAMES_INDEX_FILE)} is not a frame index nst wrote (version 1).`);
  return index as FramesIndex;
}

/** frame_000000.png, frame_000001.png, …: the capture position, so a resumed spool's new frames come after its own. */
function frameFileName(position: number, format: FrameFileFormat): string {
  return `frame_${String(position).padStart(6, '0')}.${format === 'png' ? 'png' : 'jpg'}`;
}

const FRAME_FILE = /^frame_\d{6,}\.(png|jpg)$/;
