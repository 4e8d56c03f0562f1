// The job worker: a message loop that runs one studio run at a time off the main thread; tagged messages in, run
// events out (src/main/worker/messages.ts). The run itself is a StudioRun; its events go out through a RunReporter.
// A video job (video-job.ts) runs in a thread of its own started from this same script.

import { parentPort } from 'node:worker_threads';
import { cachedWeights } from './weights-cache.js';
import type { ParentToWorker, StartMessage, WorkerToParent } from './messages.js';
import { RunReporter } from './run-reporter.js';
import { StudioRun } from './studio-run.js';
import { onVideoMessage } from './video-job.js';
import { isVideoMessage, type VideoParentToWorker, type VideoWorkerToParent } from './video-messages.js';

if (!parentPort) throw new Error('job-worker must run in a worker thread (worker_threads), not as a script.');
const port = parentPort;

const post = (message: WorkerToParent, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

let active: { run: StudioRun; reporter: RunReporter } | null = null;

port.on('message', (message: ParentToWorker | VideoParentToWorker) => {
  if (typeof message !== 'object' || message === null) return;
  // A video job's worker (services/video-job-service.ts) is another thread of this script: its messages go there.
  if (isVideoMessage(message)) {
    onVideoMessage(message, (reply: VideoWorkerToParent, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer));
    return;
  }
  if (message.type === 'start') {
    void execute(message);
    return;
  }
  // Control messages name their run: one that arrives after its run ended must not touch the next one.
  const current = active && active.run.runId === message.runId ? active : null;
  switch (message.type) {
    case 'pause':
      current?.run.pause();
      break;
    case 'resume':
      current?.run.resume();
      break;
    case 'stop':
      current?.run.stop(message.keepCheckpoint === true);
      break;
    case 'update':
      current?.run.update(message.settings);
      break;
    case 'masks':
      current?.run.setMasks(message.masks);
      break;
    case 'snapshot': {
      const reply = (image: Awaited<ReturnType<RunReporter['snapshot']>>): void =>
        post({ type: 'snapshot', requestId: message.requestId, image }, image ? [image.data.buffer as ArrayBuffer] : []);
      if (!current) reply(null);
      else void current.reporter.snapshot().then(reply, () => reply(null));
      break;
    }
  }
});

async function execute(start: StartMessage): Promise<void> {
  const reporter = new RunReporter(start.runId, start.previewIntervalMs, post);
  if (active) {
    // The service never does this; if it did, the new run fails rather than disturbing the one in progress.
    reporter.emit({ type: 'error', error: { code: 'INTERNAL', message: 'The worker is already running another style transfer.' } });
    await reporter.flush();
    post({ type: 'idle', runId: start.runId });
    return;
  }
  const run = new StudioRun(start, reporter, cachedWeights);
  active = { run, reporter };
  try {
    await run.execute();
  } catch (error) {
    reporter.fail(error);
  } finally {
    await reporter.flush().catch(() => undefined);
    active = null;
    post({ type: 'idle', runId: start.runId });
  }
}

