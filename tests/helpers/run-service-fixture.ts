// One RunService per test file on the TypeScript job worker and the real weights, with an event log of everything it
// pushed: made before the file's first test, disposed after its last (the set-up the service tests shared by copy).
// Kept apart from studio.ts, which the child processes (studio-run-child.ts) import outside vitest.

import { afterAll, beforeAll } from 'vitest';
import { RunService, type RunServiceOptions } from '../../src/main/services/run-service.js';
import type { StartRunRequest } from '../../src/shared/api.js';
import { EventLog, WEIGHTS_DIR, tsJobWorker } from './studio.js';

export interface RunServiceFixture {
  readonly service: RunService;
  readonly log: EventLog;
  /** Starts a run and answers its id; a refused start fails the test with the service's sentence. */
  started(request: StartRunRequest, options?: Parameters<RunService['startRun']>[1]): Promise<string>;
}

/** Registers the file's beforeAll/afterAll; `options` replace the defaults (2 threads, previews every 250 ms). */
export function useRunService(options: Partial<RunServiceOptions> = {}): RunServiceFixture {
  let made: { service: RunService; log: EventLog } | undefined;
  beforeAll(() => {
    const service = new RunService({ worker: tsJobWorker(), weights: async () => ({ path: WEIGHTS_DIR }), threads: 2, previewIntervalMs: 250, ...options });
    made = { service, log: new EventLog(service) };
  });
  afterAll(async () => {
    await made?.service.dispose();
  });
  const get = (): { service: RunService; log: EventLog } => {
    if (!made) throw new Error('useRunService: the service is made in beforeAll; use it inside a test.');
    return made;
  };
  return {
    get service() {
      return get().service;
    },
    get log() {
      return get().log;
    },
    async started(request, startOptions) {
      const result = await get().service.startRun(request, startOptions);
      if (!result.ok) throw new Error(`startRun failed: ${result.error.message}`);
      return result.value.runId;
    },
  };
}
