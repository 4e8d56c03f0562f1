// Fake services for the transport tests: every call of the API table answers with its name (recording the request
// it got), every studio event can be pushed by the test, and the exports the hosts hand out have bytes to give.

import type { ExportSources } from '../../src/main/services/studio-backend.js';
import { REQUEST_METHODS, STUDIO_PUSH_NAMES, listenerName, type FfmpegStatus, type PushName, type StudioServices } from '../../src/shared/api.js';
import { ok } from '../../src/shared/result.js';

export type FakeSources = Pick<ExportSources, 'renderExport' | 'exportVideoBytes' | 'exportVideoTo' | 'hasVideoFrames' | 'useFfmpeg'> & Pick<StudioServices, 'getFfmpegStatus'>;

/** The ffmpeg status the fake sources answer with (after a choice, and when asked). */
export const FAKE_FFMPEG: FfmpegStatus = { found: true, path: '/opt/ffmpeg/bin/ffmpeg', source: 'setting', version: '7.0', notes: [] };

/** The services, the export sources, and both as the browser host takes them (a StudioBackend's shape). */
export function fakeServices() {
  const calls: [string, unknown][] = [];
  const listeners = new Map<string, Set<(event: unknown) => void>>();
  const services: Record<string, unknown> = {};
  for (const method of REQUEST_METHODS) {
    services[method] = async (request: unknown) => {
      calls.push([method, request]);
      return ok({ answered: method });
    };
  }
  for (const name of STUDIO_PUSH_NAMES) {
    services[listenerName(name)] = (listener: (event: unknown) => void) => {
      if (!listeners.has(name)) listeners.set(name, new Set());
      listeners.get(name)!.add(listener);
      return () => listeners.get(name)!.delete(listener);
    };
  }
  const sources: FakeSources = {
    renderExport: async () => ok({ bytes: new Uint8Array([1, 2, 3]), format: 'png', mimeType: 'image/png', width: 1, height: 1, fileName: 'run-1-abcd.png' }),
    exportVideoBytes: async () => ok({ info: { path: null, fileName: 'run-1-abcd.mp4', format: 'mp4', mimeType: 'video/mp4', width: 1, height: 1, fps: 10, frames: 1, durationSeconds: 0.1, sizeBytes: 3 }, bytes: new Uint8Array([4, 5, 6]) }),
    exportVideoTo: async (_request, savePath) => ok({ path: savePath, fileName: 'v.mp4', format: 'mp4', mimeType: 'video/mp4', width: 1, height: 1, fps: 10, frames: 1, durationSeconds: 0.1, sizeBytes: 3 }),
    hasVideoFrames: async () => true,
    useFfmpeg: async () => ok(FAKE_FFMPEG),
    getFfmpegStatus: async () => ok(FAKE_FFMPEG),
  };
  return {
    services: services as unknown as StudioServices,
    sources,
    backend: { services: services as unknown as StudioServices, ...sources },
    calls,
    emit: (name: PushName, event: unknown) => listeners.get(name)?.forEach((listener) => listener(event)),
    subscribers: (name: PushName) => listeners.get(name)?.size ?? 0,
  };
}

