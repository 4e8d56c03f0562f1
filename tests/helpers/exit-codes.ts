// The exit codes as docs/cli.md documents them (its "Errors and exit codes" table), for tests to expect: a test that
// compared with the code's own table would pass whatever number the code chose.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NstErrorCode } from '../../src/engine/errors.js';
import { REPO_ROOT } from './shared-data.js';

export type ExitKind = NstErrorCode | 'INTERNAL';

/** Each row of the table: its exit code and the error codes it lists (in backquotes, in its last cell). */
export function documentedExitRows(markdown = readFileSync(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8')): { exit: number; codes: string[] }[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Errors and exit codes'));
  if (!section) throw new Error('docs/cli.md has no "## Errors and exit codes" section');
  return section
    .split('\n')
    .filter((line) => /^\|\s*\d+\s*\|/.test(line))
    .map((line) => {
      const cells = line.split('|').slice(1, -1);
      return { exit: Number(cells[0]!.trim()), codes: [...cells.at(-1)!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!) };
    });
}

/** Error code → documented exit code; throws naming any code the table lists twice. */
export function documentedExitCodes(): Readonly<Record<string, number>> {
  const codes: Record<string, number> = {};
  for (const row of documentedExitRows()) {
    for (const code of row.codes) {
      if (code in codes) throw new Error(`docs/cli.md lists ${code} under exit ${codes[code]} and ${row.exit}`);
      codes[code] = row.exit;
    }
  }
  return codes;
}

/** The documented exit code of each kind, for `expect(result.code).toBe(…)` (exit-codes.test.ts checks every kind is listed). */
export const DOCUMENTED_EXIT_CODES = documentedExitCodes() as Readonly<Record<ExitKind, number>>;
