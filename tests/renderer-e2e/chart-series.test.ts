// The loss chart's data and axes (pure functions behind the uPlot chart): series per enabled layer in network
// order, gaps where a log scale cannot go, short tick labels, few enough ticks for a narrow panel.

import { describe, expect, it } from 'vitest';
import type { LossPoint } from '../../src/shared/ipc.js';
import { columns, seriesKeys } from '../../src/renderer/Chart/series.js';
import { logSplits, tickLabel } from '../../src/renderer/Chart/chart-options.js';

const point = (iteration: number, total: number, style: Record<string, number>, content: Record<string, number>): LossPoint => ({
  iteration,
  total,
  style,
  content,
  tv: 20,
});

describe('seriesKeys', () => {
  it('lists total, style layers in network order, content layers, then tv', () => {
    const keys = seriesKeys([point(1, 2, { block4_conv1: 1e11, block1_conv1: 7e5 }, { block4_conv2: 0 })]);
    expect(keys.map((k) => k.id)).toEqual(['total', 'style:block1_conv1', 'style:block4_conv1', 'content:block4_conv2', 'tv']);
    expect(keys.find((k) => k.id === 'total')?.scale).toBe('total');
  });

  it('adds a layer turned on mid-run from the point where it appears', () => {
    const points = [point(1, 2, { block1_conv1: 5 }, {}), point(2, 3, { block1_conv1: 4, block5_conv1: 9 }, {})];
    const keys = seriesKeys(points);
    expect(keys.map((k) => k.id)).toContain('style:block5_conv1');
    const data = columns(points, keys);
    expect(data[keys.findIndex((k) => k.id === 'style:block5_conv1') + 1]).toEqual([null, 9]);
  });
});

describe('columns', () => {
  it('puts iterations first and leaves gaps for zero or non-finite values (log scale)', () => {
    const points = [point(1, 2, {}, { block4_conv2: 0 }), point(2, Number.NaN, {}, { block4_conv2: 3 })];
    const keys = seriesKeys(points);
    expect(columns(points, keys)).toEqual([[1, 2], [2, null], [null, 3], [20, 20]]);
  });
});

describe('axis ticks', () => {
  it('labels decades with superscripts and small values plainly', () => {
    expect(tickLabel(1e11)).toBe('10¹¹');
    expect(tickLabel(1e-3)).toBe('10⁻³');
    expect(tickLabel(100)).toBe('100');
    expect(tickLabel(0.5)).toBe('0.5');
    expect(tickLabel(0)).toBe('');
  });

  it('keeps at most six decade ticks over a wide range and four over a narrow one', () => {
    expect(logSplits(10, 1e11).length).toBeLessThanOrEqual(6);
    expect(logSplits(10, 1e11)[0]).toBe(10);
    const narrow = logSplits(2, 9);
    expect(narrow.length).toBeLessThanOrEqual(4);
    expect(narrow[0]).toBe(2);
  });
});
