// uPlot options in the studio's theme (chart-theme.ts): log scales for the layers (left: each term's weighted loss,
// on the total's scale, or raw losses where a run reports no weighted terms) and the weighted total (right); mid-run
// changes marked.

import type uPlot from 'uplot';
import { formatLoss, type SeriesKey } from './series.js';
import { DARK_CHART_THEME, type ChartTheme } from './chart-theme.js';

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

/** A label drawn above the plot for one or more marks close together, in canvas pixels. */
export interface MarkLabel {
  text: string;
  /** The iterations of the marks it stands for. */
  iterations: number[];
  left: number;
  width: number;
}

/** A label as drawn: its box in CSS pixels of the chart's canvas. */
export interface DrawnMarkLabel extends MarkLabel {
  top: number;
  bottom: number;
}

/** Gap kept between neighbouring labels, in CSS pixels. */
const LABEL_GAP_PX = 6;

/**
 * One row of labels for the marks at `xs` (canvas x, in iteration order), none overlapping another: marks whose labels
 * would touch share one ("settings changed ×3", or "3 changes" when they differ). A label starts at its first mark
 * and, near the right edge, ends there instead; `measure` gives a text's width.
 */
export function layoutMarkLabels(
  marks: readonly { x: number; iteration: number; label: string }[],
  measure: (text: string) => number,
  bounds: { left: number; right: number },
  gap: number,
): MarkLabel[] {
  const out: (MarkLabel & { x: number; labels: string[] })[] = [];
  const place = (x: number, labels: string[], iterations: number[]) => {
    const text = labels.length === 1 ? labels[0]! : labels.every((l) => l === labels[0]) ? `${labels[0]} ×${labels.length}` : `${labels.length} changes`;
    const width = measure(text);
    const left = Math.max(bounds.left, Math.min(x + gap / 2, bounds.right - width));
    return { text, iterations, left, width, x, labels };
  };
  for (const mark of marks) {
    let label = place(mark.x, [mark.label], [mark.iteration]);
    // Merging can widen the previous label into the one before it: merge back until the row is clear.
    while (out.length > 0 && label.left < out.at(-1)!.left + out.at(-1)!.width + gap) {
      const previous = out.pop()!;
      label = place(previous.x, [...previous.labels, ...label.labels], [...previous.iterations, ...label.iterations]);
    }
    out.push(label);
  }
  return out.map(({ text, iterations, left, width }) => ({ text, iterations, left, width }));
}

/** Height of the band above the plot where the marks' labels go, so that they never cover a curve (CSS pixels). */
const MARK_BAND_PX = 16;

/**
 * Draws a faint vertical line at each mid-run change (weights changed, network rebuilt) and their labels in a band
 * above the plot; hands what it drew (in CSS pixels, relative to the canvas) to `drawn`.
 */
function drawMarks(getMarks: () => readonly Mark[], drawn: (labels: DrawnMarkLabel[], plotTop: number) => void, theme: ChartTheme) {
  return (u: uPlot): void => {
    const { ctx, bbox } = u;
    const dpr = devicePixelRatio;
    ctx.save();
    ctx.strokeStyle = theme.mark;
    ctx.globalAlpha = 0.65;
    ctx.setLineDash([3, 3]);
    ctx.lineWidth = dpr;
    ctx.font = `${10 * dpr}px system-ui, sans-serif`;
    const visible = getMarks()
      .map((mark) => ({ ...mark, x: Math.round(u.valToPos(mark.iteration, 'x', true)) }))
      .filter((mark) => mark.x >= bbox.left && mark.x <= bbox.left + bbox.width);
    for (const { x } of visible) {
      ctx.beginPath();
      ctx.moveTo(x, bbox.top - 2 * dpr);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
    }
    const labels = layoutMarkLabels(visible, (text) => ctx.measureText(text).width, { left: bbox.left, right: bbox.left + bbox.width }, LABEL_GAP_PX * dpr);
    ctx.globalAlpha = 1;
    ctx.fillStyle = theme.mark;
    ctx.textBaseline = 'bottom';
    const bottom = bbox.top - 3 * dpr;
    for (const label of labels) ctx.fillText(label.text, label.left, bottom);
    ctx.restore();
    const top = bottom - 12 * dpr;
    drawn(
      labels.map((l) => ({ ...l, left: l.left / dpr, width: l.width / dpr, top: top / dpr, bottom: bottom / dpr })),
      bbox.top / dpr,
    );
  };
}

/** What the left axis measures: the terms' weighted losses share the total's scale; raw losses have their own. */
export function leftAxisLabel(keys: readonly SeriesKey[]): string {
  return keys.some((k) => k.scale === 'layers') ? 'layer loss (raw)' : 'loss (weighted)';
}

export function chartOptions(
  keys: readonly SeriesKey[],
  size: { width: number; height: number },
  getMarks: () => readonly Mark[],
  marksDrawn: (labels: DrawnMarkLabel[], plotTop: number) => void = () => undefined,
  theme: ChartTheme = DARK_CHART_THEME,
): uPlot.Options {
  const axis = { stroke: theme.axis, font: FONT, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 } };
  return {
    ...size,
    padding: [MARK_BAND_PX, 4, 0, 4],
    cursor: { drag: { x: true, y: false }, points: { size: 6 } },
    scales: {
      x: { time: false },
      layers: { distr: 3 },
      total: { distr: 3 },
    },
    axes: [
      // Iterations are whole numbers: never a 2.5 tick.
      { ...axis, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000], values: (_u, vals) => vals.map((v) => String(v)) },
      // Raw layer losses have their own scale; the weighted terms share the total's (they sum to it).
      { ...axis, scale: keys.some((k) => k.scale === 'layers') ? 'layers' : 'total', size: 40, splits: logAxisSplits, filter: keepAll, values: logTicks, label: leftAxisLabel(keys), labelSize: 14, labelFont: FONT },
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
      draw: [drawMarks(getMarks, marksDrawn, theme)],
      // When the pointer leaves, show the newest values instead of dashes.
      setCursor: [
        (u) => {
          if (u.cursor.idx == null && u.data[0].length > 0) u.setLegend({ idx: u.data[0].length - 1 }, false);
        },
      ],
    },
  };
}
