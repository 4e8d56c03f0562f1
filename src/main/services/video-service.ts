// Timelapse export for the studio: a run's frame spool → MP4/WebM/GIF with progress events and cancel, plus where
// runs keep their spools and the ffmpeg status line. Pure Node (no Electron): the main process, the browser host
// and the tests use it as is.

import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isNstError, exportVideo, type VideoExportResult, resolveFfmpeg, hasFramesIndex, listCheckpoints, RUN_FRAMES_FOLDER, runFramesDir } from '../../engine/index.js';
import type { ExportVideoRequest, FfmpegStatus, Result, RunRef, StartRunRequest, VideoExportEvent, VideoExportInfo } from '../../shared/api.js';
import { exportBaseName } from '../../shared/export-names.js';
import { DEFAULT_VIDEO_SETTINGS } from '../../shared/studio-settings.js';
import { fail, ok } from '../../shared/result.js';
import { errorInfo } from './error-info.js';

/**
 * The folder a run's worker spools its frames into (FrameSpool.create({ dir: runFramesDir(root, runId) })) and this
 * service exports from: the engine's, shared with `nst stylize --video`, whose spools this prunes alike.
 */
export { RUN_FRAMES_FOLDER, runFramesDir };

/** What a spool folder's name is: a run id (anything else under run-frames/ is not a spool). */
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MIME_TYPES = { mp4: 'video/mp4', webm: 'video/webm', gif: 'image/gif' } as const;

/**
 * Keeps the spools of the `keep` most recently changed runs and deletes the rest (a 1024-px run of 2,000
 * iterations spools about 300 MB). `protect`: run ids never removed (the running one). Returns the removed ids.
 */
export async function pruneRunFrames(root: string, keep: number, protect: readonly string[] = []): Promise<string[]> {
  const folder = path.join(root, RUN_FRAMES_FOLDER);
  const names = await readdir(folder).catch(() => [] as string[]);
  const spools = await Promise.all(
    names.filter((n) => RUN_ID.test(n)).map(async (runId) => ({ runId, mtimeMs: await stat(path.join(folder, runId)).then((s) => s.mtimeMs, () => 0) })),
  );
  spools.sort((a, b) => b.mtimeMs - a.mtimeMs);
  const doomed = spools.slice(Math.max(0, keep)).filter((s) => !protect.includes(s.runId));
  await Promise.all(doomed.map((s) => rm(path.join(folder, s.runId), { recursive: true, force: true })));
  return doomed.map((s) => s.runId);
}

/**
 * Where and how often a starting run spools its timelapse (`timelapse` as its request says: absent, every
 * DEFAULT_VIDEO_SETTINGS.frameEvery; null, none), pruning the oldest spools first. A resumed run's request carries
 * the timelapse its checkpoint recorded, and its spool is its own folder again.
 */
export function timelapseSpool(
  frames: { root: string; keep?: number },
  runId: string,
  timelapse: StartRunRequest['timelapse'],
  checkpointsRoot: string | null,
): { dir: string; frameEvery: number } | null {
  if (timelapse === null) return null;
  const keep = Math.max(1, frames.keep ?? 20);
  // Never pruned: the run starting now, and every run with a checkpoint (interrupted and resumable, or running in
  // another process): resuming one continues its spool, and its video needs the frames from before the interruption.
  const prune = async (): Promise<void> => {
    const resumable = checkpointsRoot ? (await listCheckpoints(checkpointsRoot)).map((c) => c.runId) : [];
    await pruneRunFrames(frames.root, keep - 1, [runId, ...resumable]);
  };
  // Old spools go before the new one grows.
  void prune().catch((error: unknown) => console.warn('[video] could not prune old timelapse frames:', error));
  return { dir: runFramesDir(frames.root, runId), frameEvery: timelapse?.frameEvery ?? DEFAULT_VIDEO_SETTINGS.frameEvery };
}

export interface VideoServiceOptions {
  /** The data folder whose run-frames/ holds the spools (the same root the run worker writes to). */
  root: string;
  /** The user's ffmpeg setting, read at each export (so a change needs no restart); null/undefined: none. */
  ffmpegPath?: () => string | null | undefined;
  /** Progress events at most this often; default 250 ms. The first and the last always go out. */
  progressIntervalMs?: number;
}

export class VideoService {
  private readonly listeners = new Set<(event: VideoExportEvent) => void>();
  /** Exports in progress, by run id: one per run at a time. */
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly options: VideoServiceOptions) {}

  /** Subscribes to export events; returns the unsubscribe function. */
  onEvent(listener: (event: VideoExportEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether the run has frames to export (the dialog can grey out "Export video" otherwise). */
  async hasFrames(runId: string): Promise<boolean> {
    if (!RUN_ID.test(runId)) return false;
    return hasFramesIndex(runFramesDir(this.options.root, runId)).catch(() => false);
  }

  /** Which ffmpeg an export would use now, or how to get one. */
  async ffmpegStatus(): Promise<Result<FfmpegStatus>> {
    try {
      const found = await resolveFfmpeg({ settingPath: this.options.ffmpegPath?.() ?? null });
      const source = found.source === 'beside-ffmpeg' ? 'path' : found.source;
      return ok({ found: true, path: found.path, source, version: found.version, notes: [...found.skipped] });
    } catch (error) {
      if (isNstError(error) && error.code === 'FFMPEG_NOT_FOUND') return ok({ found: false, help: error.message });
      return { ok: false, error: errorInfo(error) };
    }
  }

  /**
   * Exports the run's spool to `output` (Electron: the path a save dialog returned). Resolves with the file's facts,
   * or an error as data: NO_FRAMES (the run kept none), EXPORT_BUSY (this run is being
   * exported), FFMPEG_NOT_FOUND (with how to get one), ABORTED (cancelled; no file written), RUNTIME_FAILURE (ffmpeg).
   * Events go to onEvent listeners meanwhile: progress, then done / error / canceled.
   */
  async exportVideo(request: ExportVideoRequest, output: string): Promise<Result<VideoExportInfo>> {
    const { runId } = request;
    // Claimed before any await, so two requests for one run cannot both pass the check.
    if (this.running.has(runId)) return fail('EXPORT_BUSY', 'A video of this run is being exported already: wait for it or cancel it.');
    const controller = new AbortController();
    this.running.set(runId, controller);
    const interval = this.options.progressIntervalMs ?? 250;
    let lastSent = -Infinity;
    try {
      if (!(await this.hasFrames(runId))) {
        return fail('NO_FRAMES', 'This run kept no frames to make a video of: turn on "Record timelapse" before starting a run.');
      }
      const settingPath = this.options.ffmpegPath?.() ?? null;
      const result = await exportVideo({
        framesDir: runFramesDir(this.options.root, runId),
        output,
        format: request.format,
        fps: request.fps,
        holdFinalSeconds: request.holdFinalSeconds,
        sideBySide: request.sideBySide,
        caption: request.caption,
        ffmpeg: { settingPath },
        signal: controller.signal,
        onProgress: (p) => {
          const now = performance.now();
          if (now - lastSent < interval && p.fraction < 1) return;
          lastSent = now;
          this.emit({ runId, type: 'progress', phase: p.phase, frame: p.frame, totalFrames: p.totalFrames, fraction: p.fraction });
        },
      });
      const info = await toInfo(result);
      this.emit({ runId, type: 'done', info });
      return ok(info);
    } catch (error) {
      if (isNstError(error) && error.code === 'ABORTED') {
        this.emit({ runId, type: 'canceled' });
        return fail('ABORTED', error.message);
      }
      const info = errorInfo(error);
      this.emit({ runId, type: 'error', error: info });
      return { ok: false, error: info };
    } finally {
      this.running.delete(runId);
    }
  }

  /**
   * For the browser host, which cannot write where the user chooses: exports to a temp file, returns its bytes
   * and deletes it. Same errors and events as exportVideo.
   */
  async exportVideoBytes(request: ExportVideoRequest): Promise<Result<{ info: VideoExportInfo; bytes: Uint8Array }>> {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'nst-video-'));
    try {
      const exported = await this.exportVideo(request, path.join(folder, suggestedFileName(request)));
      if (!exported.ok) return exported;
      const bytes = new Uint8Array(await readFile(exported.value.path!));
      return ok({ info: { ...exported.value, path: null }, bytes });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  /** Cancels the run's export: ffmpeg is stopped and no file is written. */
  cancelExport({ runId }: RunRef): Result<null> {
    const controller = this.running.get(runId);
    if (!controller) return fail('NOT_EXPORTING', 'No video of this run is being exported.');
    controller.abort();
    return ok(null);
  }

  /** Cancels every export (app quit). */
  dispose(): void {
    for (const controller of this.running.values()) controller.abort();
    this.listeners.clear();
  }

  private emit(event: VideoExportEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** `neural-style-<runId>.mp4` etc.: what a save dialog offers, and a browser download's name. */
export function suggestedFileName(request: Pick<ExportVideoRequest, 'runId' | 'format'>): string {
  return `${exportBaseName(request.runId)}.${request.format}`;
}

async function toInfo(result: VideoExportResult): Promise<VideoExportInfo> {
  return {
    path: result.output,
    fileName: path.basename(result.output),
    format: result.format,
    mimeType: MIME_TYPES[result.format],
    width: result.width,
    height: result.height,
    fps: result.fps,
    frames: result.totalFrames,
    durationSeconds: result.durationSeconds,
    sizeBytes: (await stat(result.output)).size,
  };
}
