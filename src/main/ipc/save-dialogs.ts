// Electron's own answers to the host calls: exports ask where to save (a native save dialog), then write there; the
// ffmpeg to use is chosen in a native open dialog. Paths come only from the dialogs: the renderer names a run, a
// format and options, never a location, and never an executable to run.

import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorInfo, ExportImageRequest, ExportVideoRequest, HostCalls, StudioServices } from '../../shared/api.js';
import { exportBaseName } from '../../shared/export-names.js';
import { fail, ok } from '../../shared/result.js';
import type { ExportSources } from '../services/studio-backend.js';
import { errorInfo } from '../services/error-info.js';

export interface SaveTarget {
  /** Suggested file name, with the format's extension. */
  defaultName: string;
  format: ExportImageRequest['format'] | ExportVideoRequest['format'];
}

export interface SaveDialogs {
  /** Asks the user where to save (a native save dialog); null when they cancel. The only source of write paths. */
  chooseSavePath(target: SaveTarget): Promise<string | null>;
  /** Writes bytes to a path the user chose: a temp file beside it, then a rename, so no half-written file remains. */
  writeFileAtomic(filePath: string, bytes: Uint8Array): Promise<void>;
  /** Asks the user for an ffmpeg executable (a native open dialog); null when they cancel. The only source of one. */
  chooseExecutable(): Promise<string | null>;
}

export const EXPORT_EXTENSIONS = { png: ['.png'], jpeg: ['.jpg', '.jpeg'] } as const;

/** The chosen path with the format's extension (added when the user typed none or another one). */
export function withFormatExtension(filePath: string, format: 'png' | 'jpeg'): string {
  const ext = path.extname(filePath).toLowerCase();
  return (EXPORT_EXTENSIONS[format] as readonly string[]).includes(ext) ? filePath : `${filePath}${EXPORT_EXTENSIONS[format][0]}`;
}

/** The chosen path with the video format's extension (added when the user typed none or another one). */
export function withVideoExtension(filePath: string, format: 'mp4' | 'webm' | 'gif'): string {
  return path.extname(filePath).toLowerCase() === `.${format}` ? filePath : `${filePath}.${format}`;
}

/**
 * Null when `target` may be written: it is what the user chose (the dialog already confirmed any overwrite), or
 * nothing exists there yet. Otherwise why not: the added extension names an existing file the user never saw.
 */
export async function refuseUnconfirmedOverwrite(chosen: string, target: string): Promise<ErrorInfo | null> {
  if (target === chosen) return null;
  const existing = await lstat(target).catch(() => null);
  if (!existing) return null;
  return {
    code: 'EXPORT_FAILED',
    message: `${path.basename(target)} already exists and the save dialog did not ask to replace it; choose it by its full name to replace it, or pick another name.`,
  };
}

/** exportImage and exportVideo as the desktop app answers them: saved where a dialog said, or canceled. */
export function saveDialogCalls(
  sources: Pick<ExportSources, 'renderExport' | 'hasVideoFrames' | 'exportVideoTo' | 'useFfmpeg'> & Pick<StudioServices, 'getFfmpegStatus'>,
  dialogs: SaveDialogs,
): HostCalls {
  return {
    async exportImage(request) {
      const { runId, format } = request;
      const chosen = await dialogs.chooseSavePath({ defaultName: `${exportBaseName(runId)}${EXPORT_EXTENSIONS[format][0]}`, format });
      if (chosen === null) return ok({ kind: 'canceled' });
      const target = withFormatExtension(chosen, format);
      const unconfirmed = await refuseUnconfirmedOverwrite(chosen, target);
      if (unconfirmed) return fail(unconfirmed.code, unconfirmed.message);
      const encoded = await sources.renderExport(request);
      if (!encoded.ok) return encoded;
      try {
        await dialogs.writeFileAtomic(target, encoded.value.bytes);
      } catch (error) {
        // A full or read-only disk in the words the CLI uses for it; anything else named by its code.
        const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
        const info = errorInfo(error, { code: 'EXPORT_FAILED', message: () => `Could not save ${path.basename(target)} (${reason}).` }, { path: target });
        return fail(info.code, info.message);
      }
      return ok({ kind: 'saved', path: target });
    },

    async exportVideo(request) {
      const { runId, format } = request;
      // Asking where to save a video that cannot be made would waste the user's time.
      if (!(await sources.hasVideoFrames({ runId }))) {
        return fail('NO_FRAMES', 'This run kept no frames to make a video of: turn on "Record timelapse" before starting a run.');
      }
      const chosen = await dialogs.chooseSavePath({ defaultName: `${exportBaseName(runId)}.${format}`, format });
      if (chosen === null) return ok({ kind: 'canceled' });
      const target = withVideoExtension(chosen, format);
      const unconfirmed = await refuseUnconfirmedOverwrite(chosen, target);
      if (unconfirmed) return fail(unconfirmed.code, unconfirmed.message);
      const exported = await sources.exportVideoTo(request, target);
      if (!exported.ok) return exported.error.code === 'ABORTED' ? ok({ kind: 'canceled' }) : exported;
      return ok({ kind: 'saved', info: exported.value });
    },

    async chooseFfmpeg({ reset }) {
      if (reset) return sources.useFfmpeg(null);
      const chosen = await dialogs.chooseExecutable();
      // Cancelled: the choice stays as it was; the answer is the status all the same.
      return chosen === null ? sources.getFfmpegStatus() : sources.useFfmpeg(chosen);
    },
  };
}
