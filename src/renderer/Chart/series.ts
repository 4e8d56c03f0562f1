// Turns the run's loss history into uPlot's columns: total, each style layer, each content layer, TV.

import type uPlot from 'uplot';
import type { LossPoint } from '../../shared/api.js';
import { LAYER_NAMES } from '../../shared/studio-settings.js';
import { DARK_CHART_THEME, type ChartTheme } from './chart-theme.js';

export interface SeriesKey {
  /** 'total', 'tv', 'style:<layer>' or 'content:<layer>'. */
  id: string;
  label: string;
  color: string;
  dash?: number[];
  width?: number;
  scale: 'total' | 'layers';
}

/** One hue per block, lighter for later convs in it: neighbouring layers read as family. */
const BLOCK_HUES = [32, 52, 145, 205, 270];

export function layerColor(layer: string, theme: ChartTheme = DARK_CHART_THEME): string {
  const match = /^block(\d)_conv(\d)$/.exec(layer);
  const block = Number(match?.[1] ?? 1);
  const conv = Number(match?.[2] ?? 1);
  return `hsl(${BLOCK_HUES[block - 1] ?? 0} 70% ${theme.layerLightness - (conv - 1) * theme.layerStep}%)`;
}

/**
 * Whether the layer series show each term's share of the total (points carry `weighted`) rather than the raw,
 * unweighted losses: shares are what the weights act on, in the total's own units, so the largest is the term
 * that dominates. Runs whose events carry no shares (an older worker) fall back to raw losses on their own axis.
 */
export function showsShares(points: readonly LossPoint[]): boolean {
  return points.some((p) => p.weighted !== undefined);
}

/** The series to draw for these points, in a stable order (layers in network order), in the theme's colours. */
export function seriesKeys(points: readonly LossPoint[], theme: ChartTheme = DARK_CHART_THEME): SeriesKey[] {
  const layerScale = showsShares(points) ? 'total' : 'layers';
  const style = new Set<string>();
  const content = new Set<string>();
  for (const p of points) {
    for (const l of Object.keys(p.style)) style.add(l);
    for (const l of Object.keys(p.content)) content.add(l);
  }
  return [
    { id: 'total', label: 'total (weighted)', color: theme.total, width: 2, scale: 'total' },
    ...LAYER_NAMES.filter((l) => style.has(l)).map(
      (l): SeriesKey => ({ id: `style:${l}`, label: l, color: layerColor(l, theme), scale: layerScale }),
    ),
    ...LAYER_NAMES.filter((l) => content.has(l)).map(
      (l): SeriesKey => ({ id: `content:${l}`, label: `${l} content`, color: theme.content, dash: [6, 4], scale: layerScale }),
    ),
    { id: 'tv', label: 'tv', color: theme.tv, dash: [2, 4], scale: layerScale },
  ];
}

/** A log scale has no place for 0 or less (content loss is 0 at a content start): leave a gap there. */
const positive = (v: number | undefined): number | null => (v !== undefined && v > 0 && Number.isFinite(v) ? v : null);

function valueOf(point: LossPoint, id: string, shares: boolean): number | null {
  if (id === 'total') return positive(point.total);
  // In shares mode a point without them (a resumed run's first, from an older checkpoint) is a gap, never a raw value.
  const terms = shares ? point.weighted : point;
  if (!terms) return null;
  if (id === 'tv') return positive(terms.tv);
  const [kind, layer] = id.split(':') as ['style' | 'content', string];
  return positive(terms[kind][layer]);
}

export function columns(points: readonly LossPoint[], keys: readonly SeriesKey[]): uPlot.AlignedData {
  const shares = keys.some((k) => k.id !== 'total' && k.scale === 'total');
  return [points.map((p) => p.iteration), ...keys.map((k) => points.map((p) => valueOf(p, k.id, shares)))];
}

/** 3.2e+5 style: per-layer losses span ten orders of magnitude. */
export function formatLoss(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v >= 0.01 && v < 1000) return v.toPrecision(3);
  return v.toExponential(1);
}
