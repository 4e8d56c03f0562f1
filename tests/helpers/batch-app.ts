// A stand-in for the studio's main process in its own OS process, so a test can kill it (-9) mid-batch and then
// "restart" by opening the same batch folder: `node --import tsx batch-app.ts ROOT pause|run ITERATIONS`.
// Starts a batch of three 64-px items and prints every batch event as a JSON line; with `pause` it pauses the
// batch once the second item is under way and prints {"held":true} when the run controller has paused.

import { BatchService } from '../../src/main/services/batch-service.js';
import { RunService } from '../../src/main/services/run-service.js';
import { WEIGHTS_DIR, fixtureBytes, layers, testSettings, tsJobWorker } from './studio.js';

const [root, mode, iterations] = process.argv.slice(2);
const runs = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 1, previewIntervalMs: 100 });
const service = await BatchService.open({ runs, root: root! });
const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
let pausing = false;
service.onBatchEvent((event) => {
  print(event.type === 'progress' ? { ...event, preview: null } : event);
  if (mode === 'pause' && !pausing && event.type === 'progress' && event.index === 1 && event.iteration >= 2) {
    pausing = true;
    void service.pauseBatch();
  }
});
runs.onRunEvent((event) => event.type === 'paused' && print({ held: true }));
const tubingen = await fixtureBytes('content_tubingen_64x64.png');
const started = await service.startBatch({
  contents: ['one.png', 'two.png', 'three.png'].map((name) => ({ name, bytes: tubingen })),
  styles: [{ image: { name: 'starry.png', bytes: await fixtureBytes('style_starry_night_64x64.png') }, blend: 1 }],
  settings: testSettings({ iterations: Number(iterations), layers: layers(['block1_conv1', 'block2_conv1'], ['block2_conv2']) }),
});
print({ started: started.ok });
