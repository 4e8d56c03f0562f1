// image:export — asks the user where to save (native dialog), encodes the run's image, writes it temp-then-rename.
// The path comes only from the dialog: the renderer names a run, a format and a size, never a location.

import path from 'node:path';
import type { ExportImageResponse } from '../../shared/ipc.js';
import { validateExportImage } from '../../shared/schemas.js';
import { refuseUnconfirmedOverwrite } from './save-target.js';
import { failure, type Handler } from './types.js';

export const EXPORT_EXTENSIONS = { png: ['.png'], jpeg: ['.jpg', '.jpeg'] } as const;

/** The chosen path with the format's extension (added when the user typed none or another one). */
export function withFormatExtension(filePath: string, format: 'png' | 'jpeg'): string {
  const ext = path.extname(filePath).toLowerCase();
  return (EXPORT_EXTENSIONS[format] as readonly string[]).includes(ext) ? filePath : `${filePath}${EXPORT_EXTENSIONS[format][0]}`;
}

export const exportImage: Handler<'exportImage'> = async (context, payload) => {
  const request = validateExportImage(payload);
  if (!request.ok) return request;
  const { runId, format } = request.value;
  const chosen = await context.chooseSavePath({ defaultName: `neural-style-${runId}${EXPORT_EXTENSIONS[format][0]}`, format });
  if (chosen === null) return { ok: true, value: { kind: 'canceled' } satisfies ExportImageResponse };
  const target = withFormatExtension(chosen, format);
  const unconfirmed = await refuseUnconfirmedOverwrite(chosen, target);
  if (unconfirmed) return failure(unconfirmed);
  const encoded = await context.services.renderExport(request.value);
  if (!encoded.ok) return encoded;
  try {
    await context.writeFileAtomic(target, encoded.value);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    return failure({ code: 'EXPORT_FAILED', message: `Could not save ${path.basename(target)} (${reason}).` });
  }
  return { ok: true, value: { kind: 'saved', path: target } };
};
