// A studio session that quits mid-run, in a process of its own: starts one long run with checkpoints into argv[2]
// (the data folder), and once the run has checkpointed iteration 3 calls RunService.dispose() as the app's
// before-quit handler does, prints {"disposed":…} and exits. A crash on the way shows as a signal, not an exit 0.
// Usage: node --import tsx tests/helpers/studio-quit-child.ts ROOT

import { RunService } from '../../src/main/services/run-service.js';
import { WEIGHTS_DIR, testSettings, tsJobWorker, tubingenStarryRequest } from './studio.js';

const [root] = process.argv.slice(2);
const service = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 2, checkpoints: { root: root!, everyMs: 0 } });
let quitting = false;
service.onRunEvent((event) => {
  process.stdout.write(`${JSON.stringify({ type: event.type, ...(event.type === 'progress' ? { iteration: event.loss.iteration } : {}) })}\n`);
  if (event.type === 'progress' && event.loss.iteration >= 4 && !quitting) {
    quitting = true;
    const started = performance.now();
    void service.dispose().then(() => {
      process.stdout.write(`${JSON.stringify({ disposed: true, ms: Math.round(performance.now() - started) })}\n`);
      process.exit(0);
    });
  }
});
const started = await service.startRun(await tubingenStarryRequest(testSettings({ iterations: 400, optimizer: 'adam' })));
if (!started.ok) throw new Error(started.error.message);
process.stdout.write(`${JSON.stringify({ runId: started.value.runId })}\n`);
