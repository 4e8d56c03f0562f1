// The adaptive stop's window: when it says a picture is done, what it keeps for a resume, and how a stop is said.

import { describe, expect, it } from 'vitest';
import { ConvergenceWindow, convergenceRule, DEFAULT_CONVERGENCE, describeStop, meanAbsoluteChange, type ConvergenceRule } from '../../src/engine/render/convergence.js';

const rule: ConvergenceRule = { window: 4, lossDecrease: 0.01, pixelChange: 2 };

/** Pushes every (loss, change) pair; the 1-based push at which the window first answers, or null. */
function firstVerdict(window: ConvergenceWindow, series: readonly [number, number][]): number | null {
  for (let i = 0; i < series.length; i++) if (window.push(series[i]![0], series[i]![1])) return i + 1;
  return null;
}

describe('ConvergenceWindow', () => {
  it('answers only once the window is full, and then only when both the loss and the pixels are still', () => {
    const w = new ConvergenceWindow(rule);
    // Flat loss, tiny changes: still, but the first `window` pushes cannot see a whole window yet.
    for (let i = 0; i < 4; i++) expect(w.push(1, 0.1)).toBeNull();
    expect(w.push(1, 0.1)).toEqual({ lossDecrease: 0, pixelChange: expect.closeTo(0.4, 12) });
  });

  it('a loss falling faster than the threshold, or pixels moving more, keeps the run going', () => {
    // 1% over 4 iterations is the threshold: 0.5% an iteration is well above it.
    const falling = new ConvergenceWindow(rule);
    expect(firstVerdict(falling, Array.from({ length: 30 }, (_, i) => [0.995 ** i, 0.01]))).toBeNull();
    // Flat loss, but 0.6 levels an iteration: 2.4 over the window, above 2.
    const moving = new ConvergenceWindow(rule);
    expect(firstVerdict(moving, Array.from({ length: 30 }, () => [1, 0.6]))).toBeNull();
    // Both under: the loss falls 0.2% an iteration (0.8% over the window), the pixels 0.4 an iteration.
    const settling = new ConvergenceWindow(rule);
    expect(firstVerdict(settling, Array.from({ length: 30 }, (_, i) => [0.998 ** i, 0.4]))).toBe(5);
  });

  it('the verdict reports the window\'s own figures: the loss decrease over `window` iterations and the summed change', () => {
    const w = new ConvergenceWindow({ window: 2, lossDecrease: 0.5, pixelChange: 100 });
    w.push(10, 7);
    w.push(9, 1);
    expect(w.push(8, 2)).toEqual({ lossDecrease: 0.2, pixelChange: 3 });
  });

  it('reset forgets the window (weights changed mid-run: the losses before measure another objective)', () => {
    const w = new ConvergenceWindow(rule);
    for (let i = 0; i < 5; i++) w.push(1, 0);
    w.reset();
    for (let i = 0; i < 4; i++) expect(w.push(1, 0)).toBeNull();
    expect(w.push(1, 0)).not.toBeNull();
  });

  it('restored from its state at any point, it answers exactly as the window that was never interrupted', () => {
    // A loss that settles and changes that shrink, with noise: the verdict comes somewhere in the middle.
    const series: [number, number][] = Array.from({ length: 60 }, (_, i) => [1 + 2 * Math.exp(-i / 6) + 0.001 * Math.sin(i), 3 * Math.exp(-i / 10) + 0.05 * Math.abs(Math.cos(i))]);
    const whole = new ConvergenceWindow(rule);
    const expected = series.map(([loss, change]) => whole.push(loss, change));
    const stopAt = expected.findIndex((v) => v !== null);
    expect(stopAt).toBeGreaterThan(10);
    for (let k = 0; k <= stopAt; k++) {
      const before = new ConvergenceWindow(rule);
      for (let i = 0; i < k; i++) before.push(...series[i]!);
      const state = before.state(false);
      expect(state.losses.length).toBe(Math.min(k, rule.window + 1));
      expect(state.changes.length).toBe(Math.min(k, rule.window));
      // Through JSON, as a checkpoint's manifest carries it.
      const restored = ConvergenceWindow.restore(rule, JSON.parse(JSON.stringify(state)));
      const after = series.slice(k).map(([loss, change]) => restored.push(loss, change));
      expect(after, `restored after ${k} iterations`).toEqual(expected.slice(k));
    }
  });

  it('a state from a longer window keeps its last iterations; a state with more changes than losses is cut to fit', () => {
    const long = new ConvergenceWindow({ ...rule, window: 10 });
    for (let i = 0; i < 20; i++) long.push(1 - i * 1e-4, 0.1);
    const short = ConvergenceWindow.restore(rule, long.state(false));
    expect(short.state(false)).toEqual({ losses: [1 - 15e-4, 1 - 16e-4, 1 - 17e-4, 1 - 18e-4, 1 - 19e-4], changes: [0.1, 0.1, 0.1, 0.1], passed: false });
    const odd = ConvergenceWindow.restore(rule, { losses: [1], changes: [5, 5, 5], passed: true });
    expect(odd.state(true)).toEqual({ losses: [1], changes: [5], passed: true });
  });

  it('refuses a window that is not a whole number of iterations', () => {
    expect(() => new ConvergenceWindow({ ...rule, window: 0 })).toThrow(RangeError);
    expect(() => new ConvergenceWindow({ ...rule, window: 2.5 })).toThrow(/whole number/);
  });
});

describe('convergenceRule', () => {
  it('scales both thresholds by the tolerance and keeps the window', () => {
    expect(convergenceRule()).toEqual(DEFAULT_CONVERGENCE);
    expect(convergenceRule(2)).toEqual({ window: DEFAULT_CONVERGENCE.window, lossDecrease: DEFAULT_CONVERGENCE.lossDecrease * 2, pixelChange: DEFAULT_CONVERGENCE.pixelChange * 2 });
    expect(() => convergenceRule(0)).toThrow(/tolerance must be a number from 0.05 to 20, got 0/);
    expect(() => convergenceRule(Number.NaN)).toThrow(RangeError);
  });
});

describe('meanAbsoluteChange', () => {
  it('is the mean absolute difference, and leaves `previous` equal to `current`', () => {
    const previous = Float32Array.from([0, 10, 255, 4]);
    const current = Float32Array.from([1, 7, 255, 8]);
    expect(meanAbsoluteChange(current, previous)).toBe((1 + 3 + 0 + 4) / 4);
    expect([...previous]).toEqual([...current]);
    expect(meanAbsoluteChange(current, previous)).toBe(0);
  });
});

describe('describeStop', () => {
  it('says why, in one clause', () => {
    expect(describeStop({ kind: 'converged', iteration: 142, window: 20, lossDecrease: 0.0005, pixelChange: 0.84 })).toBe(
      'converged at iteration 142: loss fell 0.05% and pixels moved 0.84 levels over the last 20 iterations',
    );
    // Just under the thresholds never reads as the thresholds.
    expect(describeStop({ kind: 'converged', iteration: 90, window: 20, lossDecrease: 0.00996, pixelChange: 3.496 })).toMatch(/loss fell 0\.99% and pixels moved 3\.49 levels/);
    expect(describeStop({ kind: 'cap', iteration: 375, cap: 300 })).toBe('reached the cap of 300 iterations');
    expect(describeStop({ kind: 'stopped', iteration: 12 })).toBe('stopped at iteration 12');
    expect(describeStop({ kind: 'optimizer', iteration: 7 })).toMatch(/^the optimizer stopped at iteration 7/);
  });
});
