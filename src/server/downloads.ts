// The browser host's own answers to the export calls: a server cannot open a save dialog in the user's browser, so
// the page gets the file's bytes and downloads them.

import type { HostCalls } from '../shared/api.js';
import { ok } from '../shared/result.js';
import type { ExportSources } from '../main/services/studio-backend.js';

export function downloadCalls(sources: Pick<ExportSources, 'renderExport' | 'exportVideoBytes'>): HostCalls {
  return {
    async exportImage(request) {
      const exported = await sources.renderExport(request);
      return exported.ok ? ok({ kind: 'download', fileName: exported.value.fileName, bytes: exported.value.bytes }) : exported;
    },
    async exportVideo(request) {
      const exported = await sources.exportVideoBytes(request);
      if (!exported.ok) return exported.error.code === 'ABORTED' ? ok({ kind: 'canceled' }) : exported;
      return ok({ kind: 'download', info: exported.value.info, bytes: exported.value.bytes });
    },
  };
}
