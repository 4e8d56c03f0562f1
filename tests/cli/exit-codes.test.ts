// The exit codes scripts rely on are the documented ones: docs/cli.md's table lists every error code once, the CLI's
// EXIT_CODES agrees with it, and the numbers themselves are pinned here (a change to one is a change to the CLI's
// contract, to be made in all three places on purpose).

import { describe, expect, it } from 'vitest';
import { EXIT_CODES, exitCodeFor } from '../../src/cli/output.js';
import { NstError } from '../../src/engine/errors.js';
import { documentedExitCodes, documentedExitRows } from '../helpers/exit-codes.js';

/** The numbers as documented when this test was written: exit 3 for a bad image is a promise of the README too. */
const PINNED: Readonly<Record<number, readonly string[]>> = {
  1: ['INTERNAL'],
  2: ['BAD_ARGUMENT', 'UNKNOWN_LAYER'],
  3: ['FILE_NOT_FOUND', 'NOT_AN_IMAGE', 'IMAGE_TOO_LARGE', 'IMAGE_TOO_SMALL', 'BAD_CHECKPOINT'],
  4: ['BAD_WEIGHTS', 'WEIGHTS_MISSING_LAYER', 'WEIGHTS_NOT_FOUND', 'CHECKSUM_MISMATCH'],
  5: ['DEVICE_UNAVAILABLE', 'RUNTIME_FAILURE'],
  6: ['DOWNLOAD_FAILED'],
  7: ['FFMPEG_NOT_FOUND'],
  8: ['BATCH_ITEMS_FAILED'],
  9: ['DISK_FULL', 'READ_ONLY', 'PERMISSION_DENIED', 'NOT_A_FOLDER', 'IS_A_FOLDER', 'ALREADY_EXISTS', 'NAME_TOO_LONG', 'TOO_MANY_OPEN_FILES', 'FILE_SYSTEM_ERROR'],
  10: ['RUN_IN_USE'],
  130: ['ABORTED'],
};

describe('exit codes', () => {
  it('docs/cli.md lists every error code the CLI knows, once, and no other', () => {
    expect(Object.keys(documentedExitCodes()).sort()).toEqual(Object.keys(EXIT_CODES).sort());
  });

  it('the CLI\'s table gives each error code the exit code the docs give it', () => {
    expect({ ...EXIT_CODES }).toEqual(documentedExitCodes());
  });

  it('the documented numbers are the pinned ones', () => {
    const rows = documentedExitRows();
    expect(Object.fromEntries(rows.map((row) => [row.exit, [...row.codes].sort()]))).toEqual(Object.fromEntries(Object.entries(PINNED).map(([exit, codes]) => [exit, [...codes].sort()])));
  });

  it('an error exits with its code\'s number; anything that is not an NstError exits 1', () => {
    for (const [exit, codes] of Object.entries(PINNED)) {
      for (const code of codes) if (code !== 'INTERNAL') expect(exitCodeFor(new NstError(code as never, 'x')), code).toBe(Number(exit));
    }
    expect(exitCodeFor(new Error('a bug'))).toBe(1);
    expect(exitCodeFor('thrown text')).toBe(1);
  });
});
