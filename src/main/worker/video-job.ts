// The job worker's video half: runs one video job (the engine's stylizeVideo) off the main thread, steered by
// pause/resume/stop messages; its events go up in order, a preview of the frame in progress at most every
// previewIntervalMs (a JPEG made here, so the main thread never encodes).

import { stat } from 'node:fs/promises';
import { encodeImage, RunController, stylizeVideo, type PlanarImage, type VideoJobEvent as EngineVideoEvent } from '../../engine/index.js';
import { cachedWeights } from './weights-cache.js';
import type { PreviewFrame } from '../../shared/api.js';
import { errorInfo } from './run-reporter.js';
import type { VideoParentToWorker, VideoStartMessage, VideoWorkerEvent, VideoWorkerToParent } from './video-messages.js';

type Post = (message: VideoWorkerToParent, transfer?: ArrayBuffer[]) => void;

let active: RunController | null = null;

/** Handles a video message: starts the job, or steers the one in progress (none: ignored). */
export function onVideoMessage(message: VideoParentToWorker, post: Post): void {
  switch (message.type) {
    case 'video-start':
      void runVideoJob(message, post);
      break;
    case 'video-pause':
      active?.pause();
      break;
    case 'video-resume':
      active?.resume();
      break;
    case 'video-stop':
      active?.stop();
      break;
  }
}

async function runVideoJob(start: VideoStartMessage, post: Post): Promise<void> {
  if (active) {
    post({ type: 'video-error', error: { code: 'INTERNAL', message: 'The worker is already painting a video.' } });
    return;
  }
  const controller = new RunController();
  active = controller;
  // Events are posted in the engine's order even though previews are encoded asynchronously.
  let chain: Promise<void> = Promise.resolve();
  const send = (make: () => Promise<{ event: VideoWorkerEvent; transfer: ArrayBuffer[] }> | { event: VideoWorkerEvent; transfer: ArrayBuffer[] }): void => {
    chain = chain.then(async () => {
      const { event, transfer } = await make();
      post({ type: 'video-event', event }, transfer);
    });
  };
  let lastPreviewMs = -Infinity;
  const onEvent = (event: EngineVideoEvent): void => {
    switch (event.type) {
      case 'input':
        send(() => ({ event: { type: 'input', frames: event.frames, fps: event.fps, width: event.width, height: event.height, hasAudio: event.hasAudio, alreadyDone: event.alreadyDone }, transfer: [] }));
        break;
      case 'frame-started':
        lastPreviewMs = -Infinity;
        send(() => ({ event: { type: 'frame-started', frame: event.frame, iterations: event.iterations }, transfer: [] }));
        break;
      case 'progress': {
        const now = performance.now();
        const image = event.run.image && now - lastPreviewMs >= start.previewIntervalMs ? event.run.image : null;
        if (image) lastPreviewMs = now;
        const base = { type: 'progress' as const, frame: event.frame, iteration: event.run.stageIteration, iterations: event.run.stageIterations, loss: event.run.loss.total };
        send(async () => {
          const preview = image ? await jpeg(image) : null;
          return { event: { ...base, preview }, transfer: preview ? [preview.jpeg.buffer as ArrayBuffer] : [] };
        });
        break;
      }
      case 'frame-done':
        send(() => ({ event: { type: 'frame-done', frame: event.frame, file: event.file }, transfer: [] }));
        break;
      case 'encoding':
        send(() => ({ event: { type: 'encoding', fraction: event.progress.fraction }, transfer: [] }));
        break;
    }
  };
  try {
    const result = await stylizeVideo({
      input: start.input,
      ...(start.fps !== null ? { fps: start.fps } : {}),
      styles: start.styles,
      jobDir: start.jobDir,
      output: start.output,
      settings: start.settings,
      weights: () => cachedWeights(start.weightsPath),
      ...(start.ffmpegPath ? { ffmpeg: start.ffmpegPath } : {}),
      controller,
      previewEvery: 1,
      command: 'studio',
      onEvent,
    });
    await chain;
    const output = result.video ? { path: result.video.output, sizeBytes: (await stat(result.video.output)).size } : null;
    post({ type: 'video-done', stopped: result.stopped, framesDone: result.framesDone, frames: result.frames, output });
  } catch (error) {
    await chain.catch(() => undefined);
    post({ type: 'video-error', error: errorInfo(error) });
  } finally {
    active = null;
  }
}

/** A JPEG of the image in a buffer of its own, so it can be transferred. */
async function jpeg(image: PlanarImage): Promise<PreviewFrame> {
  return { width: image.width, height: image.height, jpeg: new Uint8Array(await encodeImage(image, 'jpeg', { quality: 85 })) };
}
