// What the live region says about a run (run-announcements.ts): a whole sentence per change of state, progress
// only on a new tenth and never sooner than the gap after the last sentence, nothing on the window's first look.

import { describe, expect, it } from 'vitest';
import { RunAnnouncements, type RunSnapshot } from '../../src/renderer/state/run-announcements.js';

const snap = (over: Partial<RunSnapshot>): RunSnapshot => ({
  status: 'idle',
  iteration: 0,
  iterations: 300,
  width: 384,
  height: 256,
  device: 'CPU',
  queuePosition: 0,
  ...over,
});

/** Feeds snapshots at the given times; the sentences said, in order. */
function said(voice: RunAnnouncements, steps: [number, Partial<RunSnapshot>][]): string[] {
  return steps.flatMap(([now, over]) => voice.next(snap(over), now) ?? []);
}

describe('RunAnnouncements', () => {
  it('says each change of state once, as a sentence', () => {
    const voice = new RunAnnouncements(10_000);
    const lines = said(voice, [
      [0, { status: 'idle' }],
      [10, { status: 'starting' }],
      [20, { status: 'queued', queuePosition: 1 }],
      [30, { status: 'running', iteration: 0 }],
      [40, { status: 'running', iteration: 1 }],
      [50, { status: 'paused', iteration: 12 }],
      [60, { status: 'running', iteration: 12 }],
      [70, { status: 'converged', iteration: 140 }],
      [80, { status: 'running', iteration: 140 }],
      [90, { status: 'stopping', iteration: 150 }],
      [100, { status: 'stopped', iteration: 151 }],
    ]);
    expect(lines).toEqual([
      'Queued as number 1: waiting for the run before it to finish.',
      'Run started: 300 iterations at 384 × 256 pixels on the CPU.',
      'Paused at iteration 12 of 300.',
      'Resumed at iteration 12 of 300.',
      'Converged at iteration 140: the picture has stopped changing. Keep going runs on to 300.',
      'Keeping going from iteration 140 of 300.',
      'Stopped at iteration 151 of 300; the image so far is kept.',
    ]);
  });

  it('says the end of a run, and a failure, but not a past run shown from the history', () => {
    expect(said(new RunAnnouncements(), [[0, { status: 'running', iteration: 5 }], [1, { status: 'done', iteration: 300 }]])).toEqual(['Finished after 300 iterations.']);
    expect(said(new RunAnnouncements(), [[0, { status: 'starting' }], [1, { status: 'error' }]])).toEqual(['The run failed; the message is above the preview.']);
    expect(said(new RunAnnouncements(), [[0, { status: 'idle' }], [1, { status: 'done', iteration: 40 }], [2, { status: 'stopped', iteration: 20 }]])).toEqual([]);
  });

  it('says progress on a new tenth, at most once per gap, and never the tenth it started in or the end', () => {
    const voice = new RunAnnouncements(10_000);
    const steps: [number, Partial<RunSnapshot>][] = [[0, { status: 'idle' }], [0, { status: 'running', iteration: 0 }]];
    // 300 iterations at 100 ms each: 30 s, so a sentence at most every 10 s (the last 10 s only reach 99%).
    for (let i = 1; i <= 300; i++) steps.push([i * 100, { status: 'running', iteration: i }]);
    const lines = said(voice, steps);
    expect(lines[0]).toMatch(/^Run started/);
    expect(lines.slice(1)).toEqual(['30% done: iteration 100 of 300.', '60% done: iteration 200 of 300.']);
    // Slower (1 s an iteration over 30 iterations): every tenth has its sentence, 10% to 90%.
    const slow = new RunAnnouncements(10_000);
    const slowSteps: [number, Partial<RunSnapshot>][] = [[0, { status: 'idle' }], [0, { status: 'running', iteration: 0, iterations: 30 }]];
    for (let i = 1; i <= 30; i++) slowSteps.push([i * 12_000, { status: 'running', iteration: i, iterations: 30 }]);
    expect(said(slow, slowSteps).slice(1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((t) => `${t * 10}% done: iteration ${t * 3} of 30.`));
  });

  it('stays quiet through a fast run: started and finished only', () => {
    const voice = new RunAnnouncements();
    const steps: [number, Partial<RunSnapshot>][] = [[0, { status: 'idle' }], [1, { status: 'running', iterations: 30 }]];
    for (let i = 1; i <= 30; i++) steps.push([i * 40, { status: 'running', iteration: i, iterations: 30 }]);
    steps.push([1300, { status: 'done', iteration: 30, iterations: 30 }]);
    expect(said(voice, steps)).toEqual(['Run started: 30 iterations at 384 × 256 pixels on the CPU.', 'Finished after 30 iterations.']);
  });
});
