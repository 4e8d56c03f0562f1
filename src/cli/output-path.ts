// Checks an output path before any work is done: its folder exists and takes files, it is not a folder, and it is
// none of the inputs.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { checkWritableFolder, NstError } from '../engine/index.js';

/**
 * Throws unless `output` can receive the result: FILE_NOT_FOUND when its folder does not exist (said now, not
 * after an hour's run), READ_ONLY, PERMISSION_DENIED or DISK_FULL when the folder takes no new file,
 * BAD_ARGUMENT when it is a folder or the same file as one of `inputs` (nst never writes over the user's own
 * images; symbolic and hard links to an input count as the input).
 */
export async function checkOutputPath(option: string, output: string, inputs: readonly string[]): Promise<void> {
  const absolute = path.resolve(output);
  const folder = path.dirname(absolute);
  const folderInfo = await stat(folder).catch(() => undefined);
  if (!folderInfo?.isDirectory()) {
    throw new NstError('FILE_NOT_FOUND', `${option}: cannot write ${absolute}: the folder ${folder} does not exist.`);
  }
  const outputInfo = await stat(absolute).catch(() => undefined);
  if (outputInfo?.isDirectory()) throw new NstError('BAD_ARGUMENT', `${option}: ${absolute} is a folder; name a file inside it.`);
  // A read-only or full disk, or a folder not ours, said now rather than when the result is ready.
  await checkWritableFolder(option, folder);
  for (const input of inputs) {
    const inputAbsolute = path.resolve(input);
    const inputInfo = outputInfo ? await stat(inputAbsolute).catch(() => undefined) : undefined;
    const same = inputAbsolute === absolute || (outputInfo && inputInfo && outputInfo.dev === inputInfo.dev && outputInfo.ino === inputInfo.ino);
    if (same) {
      throw new NstError(
        'BAD_ARGUMENT',
        `${option}: ${absolute} is also an input image (${input}); nst never writes over its inputs, so choose another name.`,
      );
    }
  }
}
