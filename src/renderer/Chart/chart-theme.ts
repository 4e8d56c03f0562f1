// The loss chart's colours: the theme's --chart-* tokens (app.css) read when the chart is built, since a canvas cannot
// use CSS variables; dark, light, more contrast and forced colours each set their own.

export interface ChartTheme {
  axis: string;
  grid: string;
  /** Mid-run marks and their labels. */
  mark: string;
  total: string;
  content: string;
  tv: string;
  /** hsl lightness (%) of a block's first conv layer, and the step down for each conv after it. */
  layerLightness: number;
  layerStep: number;
}

/** The dark theme's values: app.css's defaults, and what a chart gets where no document is there to read. */
export const DARK_CHART_THEME: ChartTheme = {
  axis: '#8d93a3',
  grid: '#23262e',
  mark: 'rgb(154 168 255 / 0.95)',
  total: '#f1f2f6',
  content: '#f08ca8',
  tv: '#9aa0ae',
  layerLightness: 72,
  layerStep: 9,
};

/** The tokens as the element sees them now (a missing or empty one keeps the dark value). */
export function readChartTheme(element: Element): ChartTheme {
  const style = getComputedStyle(element);
  const token = (name: string, fallback: string): string => style.getPropertyValue(`--chart-${name}`).trim() || fallback;
  const number = (name: string, fallback: number): number => {
    const value = Number.parseFloat(token(name, ''));
    return Number.isFinite(value) ? value : fallback;
  };
  const d = DARK_CHART_THEME;
  return {
    axis: token('axis', d.axis),
    grid: token('grid', d.grid),
    mark: token('mark', d.mark),
    total: token('total', d.total),
    content: token('content', d.content),
    tv: token('tv', d.tv),
    layerLightness: number('layer-lightness', d.layerLightness),
    layerStep: number('layer-step', d.layerStep),
  };
}

/** The media queries that change the tokens: the chart is built again when one of them flips. */
export const THEME_QUERIES = ['(prefers-color-scheme: light)', '(prefers-contrast: more)', '(forced-colors: active)'] as const;
