// The loss chart's data and axes (pure functions behind the uPlot chart): series per enabled layer in network
// order, gaps where a log scale cannot go, short tick labels, few enough ticks for a narrow panel.

import { describe, expect, it } from 'vitest';
import type { LossPoint } from '../../src/shared/api.js';
import { columns, seriesKeys, showsShares } from '../../src/renderer/Chart/series.js';
import { layoutMarkLabels, leftAxisLabel, logSplits, tickLabel } from '../../src/renderer/Chart/chart-options.js';

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

describe('shares of the total', () => {
  const shared = (iteration: number, total: number, weighted: LossPoint['weighted']): LossPoint => ({ ...point(iteration, total, { block1_conv1: 7e5, block4_conv1: 1e11 }, { block4_conv2: 3e3 }), ...(weighted ? { weighted } : {}) });

  it('plots each term\'s share on the total\'s scale when the points carry shares, never a raw value', () => {
    const points = [
      // A resumed run's first point, from a checkpoint written before shares: a gap, not a raw 7e5 on the total's axis.
      shared(1, 2.5, undefined),
      shared(2, 2, { style: { block1_conv1: 0.2, block4_conv1: 1.1 }, content: { block4_conv2: 0.6 }, tv: 0.1 }),
    ];
    expect(showsShares(points)).toBe(true);
    const keys = seriesKeys(points);
    expect(keys.every((k) => k.scale === 'total')).toBe(true);
    expect(columns(points, keys)).toEqual([[1, 2], [2.5, 2], [null, 0.2], [null, 1.1], [null, 0.6], [null, 0.1]]);
  });

  it('keeps raw losses on their own scale for points without shares', () => {
    const points = [shared(1, 2.5, undefined)];
    expect(showsShares(points)).toBe(false);
    const keys = seriesKeys(points);
    expect(keys.filter((k) => k.id !== 'total').every((k) => k.scale === 'layers')).toBe(true);
    expect(columns(points, keys)).toEqual([[1], [2.5], [7e5], [1e11], [3e3], [20]]);
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

describe('mark labels', () => {
  // 6 px a character: "settings changed" is 96 px wide.
  const measure = (text: string): number => text.length * 6;
  const bounds = { left: 40, right: 400 };
  const mark = (x: number, label = 'settings changed') => ({ x, iteration: x, label });

  it('keeps labels that fit apart where their marks are', () => {
    const labels = layoutMarkLabels([mark(50), mark(200)], measure, bounds, 6);
    expect(labels.map((l) => [l.text, l.left])).toEqual([['settings changed', 53], ['settings changed', 203]]);
  });

  it('merges marks whose labels would overlap into one, counting them, and never leaves two overlapping', () => {
    const labels = layoutMarkLabels([mark(50), mark(60), mark(70), mark(150, 'rebuilt'), mark(390)], measure, bounds, 6);
    expect(labels.map((l) => l.text)).toEqual(['4 changes', 'settings changed']);
    expect(labels[0]!.iterations).toEqual([50, 60, 70, 150]);
    for (let i = 1; i < labels.length; i++) expect(labels[i]!.left).toBeGreaterThanOrEqual(labels[i - 1]!.left + labels[i - 1]!.width + 6);
    // Near the right edge a label ends at the edge instead of running past it.
    expect(labels[1]!.left + labels[1]!.width).toBeLessThanOrEqual(bounds.right);
  });

  it('says how many of the same change a merged label stands for', () => {
    expect(layoutMarkLabels([mark(50), mark(55), mark(58)], measure, bounds, 6).map((l) => l.text)).toEqual(['settings changed ×3']);
  });
});

describe('the left axis', () => {
  it('names the weighted terms for what they are (they sum to the total, so they exceed 1), and raw losses as raw', () => {
    const withShares = seriesKeys([{ ...point(1, 2, { block1_conv1: 7e5 }, {}), weighted: { style: { block1_conv1: 1.5 }, content: {}, tv: 0.5 } }]);
    expect(leftAxisLabel(withShares)).toBe('loss (weighted)');
    expect(leftAxisLabel(seriesKeys([point(1, 2, { block1_conv1: 7e5 }, {})]))).toBe('layer loss (raw)');
  });
});
