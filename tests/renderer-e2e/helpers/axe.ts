// axe-core in a page: injected through the DevTools protocol (the page's CSP forbids inline scripts, and the test must
// not loosen it), run against WCAG 2.1 A/AA and best practice, its serious and critical violations in readable lines.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The rule sets the studio is held to. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] as const;

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  helpUrl: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Runs axe on the whole page as it is now; every violation, of every impact. */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String), failureSummary: n.failureSummary })),
    }));
  }, [...AXE_TAGS]);
}

/**
 * Waits until every CSS transition running now has ended (the studio fades colours over 120 ms, and axe would read a
 * colour half-way). getAnimations() applies pending style changes first, so a theme just emulated has started its
 * transitions by then. A fixed sleep did this before, and on a loaded machine it was sometimes too short.
 */
export async function transitionsDone(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const running = document.getAnimations().filter((a) => a instanceof CSSTransition);
    // A transition cancelled midway (its property changed again) rejects `finished`; a new one has replaced it.
    await Promise.all(running.map((a) => a.finished.catch(() => undefined)));
  });
}

export const isSerious = (v: AxeViolation): boolean => v.impact === 'serious' || v.impact === 'critical';

/** One line per violation: its id and impact, what it asks, and where (the first few targets). */
export function describeViolations(violations: readonly AxeViolation[]): string {
  return violations
    .map((v) => {
      const targets = v.nodes.slice(0, 6).map((n) => n.target.join(' ')).join(' | ');
      const more = v.nodes.length > 6 ? ` (+${v.nodes.length - 6} more)` : '';
      const why = v.nodes[0]?.failureSummary?.replace(/\s+/g, ' ').slice(0, 200) ?? '';
      return `${v.id} [${v.impact}] ${v.help}: ${targets}${more}${why ? ` — ${why}` : ''}`;
    })
    .join('\n');
}
