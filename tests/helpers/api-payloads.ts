// A well-formed payload for every call of the API table that takes one, shared by the transport tests: each
// malformed case in them differs from one of these in one way.

import type { RequestMethod, StartRunRequest } from '../../src/shared/api.js';
import type { PayloadMethod } from '../../src/shared/schemas.js';
import { DEFAULT_STUDIO_SETTINGS, DEFAULT_VIDEO_SETTINGS } from '../../src/shared/studio-settings.js';

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export const validStart = (): StartRunRequest => ({
  content: { name: 'photo.png', bytes: png },
  styles: [{ image: { name: 'starry.png', bytes: png }, blend: 1 }],
  settings: structuredClone(DEFAULT_STUDIO_SETTINGS),
});

/** One per call that takes a payload: a new such call does not compile until it has one here. */
export const VALID: { [M in PayloadMethod]: () => unknown } = {
  startRun: validStart,
  pauseRun: () => ({ runId: 'run-1-abcd' }),
  resumeRun: () => ({ runId: 'run-1-abcd' }),
  stopRun: () => ({ runId: 'run-1-abcd' }),
  updateRunSettings: () => ({ runId: 'run-1-abcd', settings: structuredClone(DEFAULT_STUDIO_SETTINGS) }),
  setRunMasks: () => ({ runId: 'run-1-abcd', masks: { width: 2, height: 2, styles: [new Uint8Array([255, 255, 0, 0])], content: null } }),
  exportImage: () => ({ runId: 'run-1-abcd', format: 'png', sizePx: null }),
  saveSettings: () => structuredClone(DEFAULT_STUDIO_SETTINGS),
  getPhotoMasks: () => ({ photo: 'a'.repeat(64) }),
  savePhotoMasks: () => ({ photo: 'a'.repeat(64), masks: { enabled: true, styles: [png], content: null } }),
  fetchWeights: () => ({}),
  importWeights: () => ({ files: [{ name: 'vgg19.h5', bytes: png }] }),
  exportVideo: () => ({ runId: 'run-1-abcd', format: 'mp4', fps: 10, holdFinalSeconds: 1, sideBySide: false, caption: false }),
  cancelVideoExport: () => ({ runId: 'run-1-abcd' }),
  estimateMemory: () => ({ settings: structuredClone(DEFAULT_STUDIO_SETTINGS), content: { width: 640, height: 480 } }),
  saveVideoSettings: () => ({ ...DEFAULT_VIDEO_SETTINGS, fps: 24 }),
  chooseFfmpeg: () => ({ reset: false }),
  startBatch: () => ({ contents: [{ name: 'a.png', bytes: png }, { name: 'b.png', bytes: png }], styles: validStart().styles, settings: structuredClone(DEFAULT_STUDIO_SETTINGS) }),
  getBatchOutput: () => ({ index: 0 }),
  startVideoJob: () => ({ clip: { kind: 'video', file: { name: 'clip.mp4', bytes: png } }, styles: validStart().styles, settings: structuredClone(DEFAULT_STUDIO_SETTINGS), video: { iterations: 50, firstIterations: 100, temporalWeight: 200, format: 'mp4' } }),
  getVideoJobFrame: () => ({ frame: 1 }),
  resumeInterruptedRun: () => ({ runId: 'run-1-abcd' }),
  discardInterruptedRun: () => ({ runId: 'run-1-abcd' }),
};

/** The call's well-formed payload, or undefined for a call that takes none. */
export const valid = (method: RequestMethod): unknown => (VALID as Partial<Record<RequestMethod, () => unknown>>)[method]?.();
