// A studio session in a process of its own, for crash tests: starts one run with checkpoints into argv[2] (the data
// folder) and prints its events as JSON lines, until the test kills it. With REBUILD_AT, turns on block1_conv2 as a
// style layer after that iteration (a layer the graph lacks: the run rebuilds its network and goes on). With
// FRAME_EVERY=N in the environment, the run records a timelapse (a frame every N iterations) into ROOT/run-frames.
// Usage: [FRAME_EVERY=N] node --import tsx tests/helpers/studio-run-child.ts ROOT ITERATIONS OPTIMIZER [REBUILD_AT]

import { RunService } from '../../src/main/services/run-service.js';
import { WEIGHTS_DIR, testSettings, tsJobWorker, tubingenStarryRequest } from './studio.js';

const [root, iterations, optimizer, rebuildAt] = process.argv.slice(2);
const frameEvery = process.env.FRAME_EVERY ? Number(process.env.FRAME_EVERY) : null;
const service = new RunService({
  worker: tsJobWorker(),
  weights: async () => ({ path: WEIGHTS_DIR }),
  threads: 2,
  checkpoints: { root: root!, everyMs: 0 },
  ...(frameEvery ? { frames: { root: root! } } : {}),
});
const settings = testSettings({ iterations: Number(iterations), optimizer: optimizer as 'lbfgs' });
let rebuilt = false;
service.onRunEvent((event) => {
  const { type, runId } = event;
  process.stdout.write(`${JSON.stringify({ type, runId, ...(event.type === 'progress' ? { iteration: event.loss.iteration } : {}) })}\n`);
  if (event.type === 'progress' && rebuildAt && !rebuilt && event.loss.iteration >= Number(rebuildAt)) {
    rebuilt = true;
    const layers = { ...settings.layers, block1_conv2: { ...settings.layers.block1_conv2!, style: true } };
    void service.updateRunSettings({ runId, settings: { ...settings, layers } });
  }
});
const started = await service.startRun({ ...(await tubingenStarryRequest(settings)), timelapse: frameEvery ? { frameEvery } : null });
if (!started.ok) throw new Error(started.error.message);
