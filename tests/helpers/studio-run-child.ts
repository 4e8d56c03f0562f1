// A studio session in a process of its own, for crash tests: starts one run with checkpoints into argv[2] (the data
// folder) and prints its events as JSON lines, until the test kills it. With REBUILD_AT, turns on block1_conv2 as a
// style layer after that iteration (a layer the graph lacks: the run rebuilds its network and goes on). With
// FRAME_EVERY=N in the environment, the run records a timelapse (a frame every N iterations) into ROOT/run-frames.
// With MASKS=top it paints with the top half masked (halfMasks), MASKS_SWITCH_AT=N switches to the bottom half after
// iteration N (setRunMasks), PAUSE_AT=N pauses after iteration N and resumes at once (a pause writes a checkpoint),
// and CHECKPOINT_MS sets the checkpoint interval (default 0: whenever the last one is on disk).
// Usage: [FRAME_EVERY=N] [MASKS=top] [MASKS_SWITCH_AT=N] [PAUSE_AT=N] [CHECKPOINT_MS=MS] node --import tsx
//        tests/helpers/studio-run-child.ts ROOT ITERATIONS OPTIMIZER [REBUILD_AT]

import { RunService } from '../../src/main/services/run-service.js';
import { WEIGHTS_DIR, halfMasks, testSettings, tsJobWorker, tubingenStarryRequest } from './studio.js';

const [root, iterations, optimizer, rebuildAt] = process.argv.slice(2);
const frameEvery = process.env.FRAME_EVERY ? Number(process.env.FRAME_EVERY) : null;
const envNumber = (name: string): number | null => (process.env[name] ? Number(process.env[name]) : null);
const [switchAt, pauseAt] = [envNumber('MASKS_SWITCH_AT'), envNumber('PAUSE_AT')];
const service = new RunService({
  worker: tsJobWorker(),
  weights: async () => ({ path: WEIGHTS_DIR }),
  threads: 2,
  checkpoints: { root: root!, everyMs: envNumber('CHECKPOINT_MS') ?? 0 },
  ...(frameEvery ? { frames: { root: root! } } : {}),
});
const settings = testSettings({ iterations: Number(iterations), optimizer: optimizer as 'lbfgs' });
let rebuilt = false;
let switched = false;
let paused = false;
service.onRunEvent((event) => {
  const { type, runId } = event;
  process.stdout.write(`${JSON.stringify({ type, runId, ...(event.type === 'progress' ? { iteration: event.loss.iteration, total: event.loss.total } : {}) })}\n`);
  if (event.type === 'progress' && switchAt !== null && !switched && event.loss.iteration >= switchAt) {
    switched = true;
    void service.setRunMasks({ runId, masks: halfMasks('bottom') });
  }
  if (event.type === 'progress' && pauseAt !== null && !paused && event.loss.iteration >= pauseAt) {
    paused = true;
    void service.pauseRun({ runId });
  }
  if (event.type === 'paused' && pauseAt !== null) void service.resumeRun({ runId });
  if (event.type === 'progress' && rebuildAt && !rebuilt && event.loss.iteration >= Number(rebuildAt)) {
    rebuilt = true;
    const layers = { ...settings.layers, block1_conv2: { ...settings.layers.block1_conv2!, style: true } };
    void service.updateRunSettings({ runId, settings: { ...settings, layers } });
  }
});
const masks = process.env.MASKS === 'top' ? { masks: halfMasks('top') } : {};
const started = await service.startRun({ ...(await tubingenStarryRequest(settings)), timelapse: frameEvery ? { frameEvery } : null, ...masks });
if (!started.ok) throw new Error(started.error.message);
