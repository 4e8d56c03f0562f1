// A studio session in a process of its own, for crash tests: starts one run with checkpoints into argv[2] (the data
// folder) and prints its events as JSON lines, until the test kills it.
// Usage: node --import tsx tests/helpers/studio-run-child.ts ROOT ITERATIONS OPTIMIZER

import { RunService } from '../../src/main/services/run-service.js';
import { WEIGHTS_DIR, testSettings, tsJobWorker, tubingenStarryRequest } from './studio.js';

const [root, iterations, optimizer] = process.argv.slice(2);
const service = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 2, checkpoints: { root: root!, everyMs: 0 } });
service.onRunEvent((event) => {
  const { type, runId } = event;
  process.stdout.write(`${JSON.stringify({ type, runId, ...(event.type === 'progress' ? { iteration: event.loss.iteration } : {}) })}\n`);
});
const started = await service.startRun(await tubingenStarryRequest(testSettings({ iterations: Number(iterations), optimizer: optimizer as 'lbfgs' })));
if (!started.ok) throw new Error(started.error.message);
