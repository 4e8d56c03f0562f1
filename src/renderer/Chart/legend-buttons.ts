// uPlot's legend toggles a series on a click of its label cell, which a keyboard cannot reach: each label is wrapped
// in a real button (Tab, Enter, Space), whose click reaches uPlot's handler, with aria-pressed saying shown or hidden.

import type uPlot from 'uplot';

/** Wraps each series label (not the x series) in a button; call once after the chart is built, its legend in `legend`. */
export function legendButtons(chart: uPlot, legend: HTMLElement): void {
  legend.querySelector('table')?.setAttribute('aria-label', 'Chart lines: press a name to show or hide its line');
  const rows = legend.querySelectorAll<HTMLTableRowElement>('.u-legend tr.u-series');
  rows.forEach((row, i) => {
    const cell = row.querySelector('th');
    if (i === 0 || !cell || cell.querySelector('button')) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'legend-toggle';
    button.title = 'Show or hide this line';
    button.append(...cell.childNodes);
    cell.append(button);
  });
  syncPressed(chart, legend, null);
}

/** aria-pressed follows the series' visibility (uPlot's setSeries hook calls this; null: every series). */
export function syncPressed(chart: uPlot, legend: HTMLElement, seriesIdx: number | null): void {
  const rows = legend.querySelectorAll<HTMLTableRowElement>('.u-legend tr.u-series');
  rows.forEach((row, i) => {
    if (i === 0 || (seriesIdx !== null && i !== seriesIdx)) return;
    row.querySelector('button.legend-toggle')?.setAttribute('aria-pressed', String(chart.series[i]?.show !== false));
  });
}

/** The label of the legend button that has focus inside `host`, if one has (to give focus back after a rebuild). */
export function focusedLegendLabel(host: HTMLElement): string | null {
  const active = document.activeElement;
  return active instanceof HTMLButtonElement && active.classList.contains('legend-toggle') && host.contains(active) ? active.textContent : null;
}

/** Focuses the legend button with that label again, or the first one; false when the legend has none. */
export function refocusLegend(host: HTMLElement, label: string): boolean {
  const buttons = [...host.querySelectorAll<HTMLButtonElement>('button.legend-toggle')];
  const button = buttons.find((b) => b.textContent === label) ?? buttons[0];
  button?.focus();
  return button !== undefined;
}
