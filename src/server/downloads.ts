// The browser host's own answers to the host calls: a server cannot open a save dialog in the user's browser, so
// the page gets an export's bytes and downloads them; and the ffmpeg to use is the host's command line's to say.

import type { HostCalls } from '../shared/api.js';
import { fail, ok } from '../shared/result.js';
import type { ExportSources } from '../main/services/studio-backend.js';

/** What the page is told when it asks to choose an ffmpeg: where the choice is made instead. */
export const FFMPEG_CHOICE_HELP =
  'In the browser the studio uses the ffmpeg it was started with: run `npm run serve -- --ffmpeg PATH` (or set NST_FFMPEG=PATH) to use another one.';

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
    // No path from the page: a client that could name one would have the host run it (`-version`).
    async chooseFfmpeg() {
      return fail('FFMPEG_CHOSEN_BY_HOST', FFMPEG_CHOICE_HELP);
    },
  };
}
