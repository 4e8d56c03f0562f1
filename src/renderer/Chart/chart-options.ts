// uPlot options in the studio's dark theme: log scales for the layers (left: each term's share of the total, or raw
// losses where a run reports no shares) and the weighted total (right).

import type uPlot from 'uplot';
import { formatLoss, type SeriesKey } from './series.js';

const AXIS = '#7d8393';
const GRID = '#23262e';
const FONT = '11px system-ui, sans-serif';

export interface Mark {
  iteration: number;
  label: string;
}

const SUPERSCRIPT = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/** 10¹¹ rather than 1.0e+11: tick labels stay short enough for a narrow side panel. */
export function tickLabel(v: number | null): string {
  if (v === null || !Number.isFinite(v) || v <= 0) return '';
  const exponent = Math.log10(v);
  if (Math.abs(exponent - Math.round(exponent)) < 1e-9 && Math.abs(exponent) >= 3) {
    const e = Math.round(exponent);
    return `10${e < 0 ? '⁻' : ''}${String(Math.abs(e))
      .split('')
      .map((d) => SUPERSCRIPT[Number(d)])
      .join('')}`;
  }
  return v >= 1000 || v < 0.01 ? v.toExponential(0) : String(Number(v.toPrecision(2)));
}

/** Log-axis ticks: whole decades (every other one past five) on wide ranges, four even steps on narrow ones. */
export function logSplits(min: number, max: number): number[] {
  if (!(min > 0) || !(max > min)) return min > 0 ? [min] : [];
  const lo = Math.ceil(Math.log10(min) - 1e-9);
  const hi = Math.floor(Math.log10(max) + 1e-9);
  if (hi - lo >= 2) {
    const step = Math.ceil((hi - lo + 1) / 5);
    const out: number[] = [];
    for (let e = lo; e <= hi; e += step) out.push(10 ** e);
    return out;
  }
  const ratio = max / min;
  return [0, 1, 2, 3].map((i) => Number((min * ratio ** (i / 3)).toPrecision(2))).filter((v, i, all) => all.indexOf(v) === i);
}

const logAxisSplits = (_u: uPlot, _axis: number, min: number, max: number): number[] => logSplits(min, max);
const logTicks = (_u: uPlot, values: number[]): string[] => values.map((v) => tickLabel(v));
/** uPlot thins log labels by mantissa; logSplits has already chosen which ticks to show. */
const keepAll = (_u: uPlot, splits: number[]): number[] => splits;

/** Draws a faint vertical line at each mid-run change (weights changed, network rebuilt). */
function drawMarks(getMarks: () => readonly Mark[]) {
  return (u: uPlot): void => {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = 'rgba(154, 168, 255, 0.6)';
    ctx.fillStyle = 'rgba(154, 168, 255, 0.9)';
    ctx.setLineDash([3, 3]);
    ctx.lineWidth = devicePixelRatio;
    ctx.font = `${10 * devicePixelRatio}px system-ui, sans-serif`;
    // Labels that would overlap an earlier one drop to the next row.
    const rows: number[] = [];
    const rowHeight = 14 * devicePixelRatio;
    for (const mark of getMarks()) {
      const x = Math.round(u.valToPos(mark.iteration, 'x', true));
      if (x < bbox.left || x > bbox.left + bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      const textWidth = ctx.measureText(mark.label).width;
      // Near the right edge the label goes on the line's left, so it never runs under the total axis.
      const right = x + 4 * devicePixelRatio + textWidth <= bbox.left + bbox.width;
      const textX = right ? x + 4 * devicePixelRatio : x - 4 * devicePixelRatio - textWidth;
      let row = rows.findIndex((end) => end < textX);
      if (row === -1) row = rows.length;
      rows[row] = textX + textWidth + 6 * devicePixelRatio;
      const textY = bbox.top + 12 * devicePixelRatio + row * rowHeight;
      ctx.save();
      ctx.fillStyle = 'rgba(25, 27, 33, 0.85)';
      ctx.fillRect(textX - 2, textY - 10 * devicePixelRatio, textWidth + 4, 13 * devicePixelRatio);
      ctx.restore();
      ctx.fillText(mark.label, textX, textY);
    }
    ctx.restore();
  };
}

export function chartOptions(
  keys: readonly SeriesKey[],
  size: { width: number; height: number },
  getMarks: () => readonly Mark[],
): uPlot.Options {
  const axis = { stroke: AXIS, font: FONT, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } };
  return {
    ...size,
    padding: [10, 4, 0, 4],
    cursor: { drag: { x: true, y: false }, points: { size: 6 } },
    scales: {
      x: { time: false },
      layers: { distr: 3 },
      total: { distr: 3 },
    },
    axes: [
      // Iterations are whole numbers: never a 2.5 tick.
      { ...axis, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000], values: (_u, vals) => vals.map((v) => String(v)) },
      // Raw layer losses have their own scale; shares of the total share the total's.
      keys.some((k) => k.scale === 'layers')
        ? { ...axis, scale: 'layers', size: 40, splits: logAxisSplits, filter: keepAll, values: logTicks, label: 'layer loss (raw)', labelSize: 14, labelFont: FONT }
        : { ...axis, scale: 'total', size: 40, splits: logAxisSplits, filter: keepAll, values: logTicks, label: 'share of total', labelSize: 14, labelFont: FONT },
      {
        ...axis,
        scale: 'total',
        side: 1,
        size: 40,
        grid: { show: false },
        splits: logAxisSplits,
        filter: keepAll,
        values: logTicks,
        label: 'total',
        labelSize: 14,
        labelFont: FONT,
      },
    ],
    series: [
      { label: 'iteration' },
      ...keys.map(
        (k): uPlot.Series => ({
          label: k.label,
          scale: k.scale,
          stroke: k.color,
          width: k.width ?? 1.25,
          dash: k.dash,
          spanGaps: false,
          points: { show: false },
          value: (_u, v) => formatLoss(v),
        }),
      ),
    ],
    legend: { live: true },
    hooks: {
      draw: [drawMarks(getMarks)],
      // When the pointer leaves, show the newest values instead of dashes.
      setCursor: [
        (u) => {
          if (u.cursor.idx == null && u.data[0].length > 0) u.setLegend({ idx: u.data[0].length - 1 }, false);
        },
      ],
    },
  };
}
