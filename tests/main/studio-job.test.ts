// A studio checkpoint's job (src/main/worker/run-checkpoint.ts, parseStudioJob) is parsed, not cast: a job that
// is malformed is refused with BAD_CHECKPOINT naming the field, one from before timelapses or rebuilds is read.

import { describe, expect, it } from 'vitest';
import { CONTENT_FILE, parseStudioJob, styleFile, type StudioJob } from '../../src/main/worker/run-checkpoint.js';
import { DEFAULT_STUDIO_SETTINGS, type StudioSettings } from '../../src/shared/studio-settings.js';

const RUN = 'run-1-0000abcd';

const job = (): StudioJob => ({
  kind: 'studio-run',
  settings: structuredClone(DEFAULT_STUDIO_SETTINGS),
  content: { name: 'photo.png', file: CONTENT_FILE },
  styles: [{ name: 'painting.png', blend: 1, file: styleFile(0) }],
  timelapse: { frameEvery: 10 },
  segment: { iterationsBefore: 40, iterations: 60 },
});

describe('parseStudioJob', () => {
  it('reads a job as the worker wrote it, and one written before timelapses and rebuilt segments', () => {
    expect(parseStudioJob(RUN, JSON.parse(JSON.stringify(job())))).toEqual(job());
    const older = { kind: 'studio-run', settings: job().settings, content: job().content, styles: job().styles };
    expect(parseStudioJob(RUN, older)).toEqual(older);
  });

  it('reads a job from before the adaptive stop as a run to its iterations (it was started so)', () => {
    const settings: Partial<StudioSettings> = { ...job().settings };
    delete settings.stop;
    delete settings.stopTolerance;
    expect(parseStudioJob(RUN, { ...job(), settings }).settings).toMatchObject({ stop: 'off', stopTolerance: 1 });
    expect(parseStudioJob(RUN, job()).settings.stop).toBe(DEFAULT_STUDIO_SETTINGS.stop);
  });

  const cases: [string, unknown, string][] = [
    ['no job', null, 'its job must be an object (got null)'],
    ['another front end\'s job', { ...job(), kind: 'nst-stylize' }, 'its job.kind must be "studio-run" (got "nst-stylize")'],
    ['settings out of range', { ...job(), settings: { ...job().settings, sizePx: 3 } }, 'its job.settings.sizePx must be at least 16 (got 3)'],
    ['settings without a field', { ...job(), settings: { ...job().settings, iterations: undefined } }, 'its job.settings.iterations is missing'],
    ['a style without its blend', { ...job(), styles: [{ name: 'a.png', file: styleFile(0) }] }, 'its job.styles.0.blend is missing'],
    ['a segment of no iterations', { ...job(), segment: { iterationsBefore: 4, iterations: 0 } }, 'its job.segment.iterations must be at least 1 (got 0)'],
    ['a timelapse interval that is not a number', { ...job(), timelapse: { frameEvery: '10' } }, 'its job.timelapse.frameEvery must be a number (got "10")'],
  ];
  for (const [name, value, why] of cases) {
    it(`refuses ${name}, naming the field`, () => {
      expect(() => parseStudioJob(RUN, JSON.parse(JSON.stringify(value)))).toThrow(expect.objectContaining({ code: 'BAD_CHECKPOINT', message: `Run ${RUN} cannot be resumed: ${why}.` }));
    });
  }
});
