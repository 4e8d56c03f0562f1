// A studio run whose picture stops changing waits there ('converged') instead of ending: resumeRun keeps going, the
// same run to its iterations; the next run starting ends it; a batch item (holdAtConvergence false) ends at once.

import { describe, expect, it } from 'vitest';
import { ExportService } from '../../src/main/services/export-service.js';
import type { RunEvent, StartRunRequest } from '../../src/shared/api.js';
import { studioDataPresent, testSettings, tubingenStarryRequest } from '../helpers/studio.js';
import { useRunService } from '../helpers/run-service-fixture.js';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const present = studioDataPresent();

/** L-BFGS at 64 px with a looser tolerance: done within a few dozen iterations, well before the cap of 80. */
const converging = (): Promise<StartRunRequest> => tubingenStarryRequest(testSettings({ optimizer: 'lbfgs', iterations: 80, stop: 'auto', stopTolerance: 4 }));

describe.skipIf(!present)('keep going (RunService, real weights, 64 px)', () => {
  const studio = useRunService();
  const { started } = studio;

  const iterationsOf = (runId: string): number[] => studio.log.of(runId).flatMap((e) => (e.type === 'progress' ? [e.loss.iteration] : []));

  it('converges and waits with its picture; keep going continues the same run to its iterations, counting on', async () => {
    const runId = await started(await converging());
    const converged = (await studio.log.next(runId, 'converged')) as Of<'converged'>;
    expect(converged.stop).toMatchObject({ kind: 'converged', iteration: converged.iteration });
    expect(converged.stop.message).toMatch(new RegExp(`^converged at iteration ${converged.iteration}: loss fell .+ over the last 20 iterations$`));
    expect(converged.iteration).toBeLessThan(80);
    expect(converged.final).toMatchObject({ width: 64, height: 64 });
    // It waits: no iteration and no end while nobody decides.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(iterationsOf(runId).at(-1)).toBe(converged.iteration);
    expect(studio.log.of(runId).some((e) => e.type === 'done' || e.type === 'paused')).toBe(false);
    expect(studio.service.runInfo(runId)?.state).toBe('running');
    // Its picture exports while it waits.
    const exported = await new ExportService(studio.service).exportImage({ runId, format: 'png', sizePx: null });
    expect(exported.ok).toBe(true);

    expect(await studio.service.resumeRun({ runId })).toEqual({ ok: true, value: null });
    expect(await studio.log.next(runId, 'resumed')).toMatchObject({ iteration: converged.iteration });
    const done = (await studio.log.end(runId)) as Of<'done'>;
    expect(done).toMatchObject({ type: 'done', iterations: 80, stopped: false, stop: { kind: 'cap', iteration: 80, message: 'reached the cap of 80 iterations' } });
    // One run, its iterations 1..80 without a gap or a restart.
    expect(iterationsOf(runId)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
  }, 300_000);

  it('a run waiting at convergence gives way to the next: it ends converged (not stopped) and the next one runs', async () => {
    const first = await started(await converging());
    const converged = (await studio.log.next(first, 'converged')) as Of<'converged'>;
    const second = await started(await tubingenStarryRequest(testSettings({ iterations: 3 })));
    expect(await studio.log.end(first)).toMatchObject({ type: 'done', stopped: false, iterations: converged.iteration, stop: { kind: 'converged', iteration: converged.iteration } });
    expect(await studio.log.end(second)).toMatchObject({ type: 'done', iterations: 3, stop: { kind: 'cap' } });
  }, 300_000);

  it('a run that nobody watches (a batch item) ends at convergence at once', async () => {
    const runId = await started(await converging(), { holdAtConvergence: false });
    const done = (await studio.log.end(runId)) as Of<'done'>;
    expect(done.stop.kind).toBe('converged');
    expect(done.iterations).toBe(done.stop.iteration);
    expect(done.iterations).toBeLessThan(80);
    expect(studio.log.of(runId).some((e) => e.type === 'converged')).toBe(false);
  }, 300_000);
});
