// video:export — asks the user where to save (native dialog), then encodes the run's timelapse there with ffmpeg
// (temp file + rename, in the engine). The path comes only from the dialog: the renderer names a run and options.

import path from 'node:path';
import type { ExportVideoResponse } from '../../shared/ipc.js';
import { validateExportVideo } from '../../shared/schemas.js';
import { refuseUnconfirmedOverwrite } from './save-target.js';
import { failure, type Handler } from './types.js';

/** The chosen path with the format's extension (added when the user typed none or another one). */
export function withVideoExtension(filePath: string, format: 'mp4' | 'webm' | 'gif'): string {
  return path.extname(filePath).toLowerCase() === `.${format}` ? filePath : `${filePath}.${format}`;
}

export const exportVideo: Handler<'exportVideo'> = async (context, payload) => {
  const request = validateExportVideo(payload);
  if (!request.ok) return request;
  const { runId, format } = request.value;
  // Asking where to save a video that cannot be made would waste the user's time.
  if (!(await context.services.hasVideoFrames({ runId }))) {
    return failure({ code: 'NO_FRAMES', message: 'This run kept no frames to make a video of: turn on "Record timelapse" before starting a run.' });
  }
  const chosen = await context.chooseSavePath({ defaultName: `neural-style-${runId}.${format}`, format });
  if (chosen === null) return { ok: true, value: { kind: 'canceled' } satisfies ExportVideoResponse };
  const target = withVideoExtension(chosen, format);
  const unconfirmed = await refuseUnconfirmedOverwrite(chosen, target);
  if (unconfirmed) return failure(unconfirmed);
  const exported = await context.services.exportVideo(request.value, target);
  if (!exported.ok) return exported.error.code === 'ABORTED' ? { ok: true, value: { kind: 'canceled' } } : exported;
  return { ok: true, value: { kind: 'saved', info: exported.value } };
};
