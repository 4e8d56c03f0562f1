// Runs one ffmpeg command to its end (decoding a clip, muxing audio): its last error lines become the failure's
// sentence, an abort kills it.

import { spawn } from 'node:child_process';
import { NstError } from '../../errors.js';

/**
 * Resolves when ffmpeg exits 0. Otherwise rejects with `failure(ffmpeg's last stderr lines)`; FFMPEG_NOT_FOUND when
 * it cannot be started; ABORTED (`abortedMessage`) when `signal` fires, the child killed.
 */
export function runFfmpegToEnd(ffmpeg: string, args: readonly string[], options: { signal?: AbortSignal; failure: (detail: string) => NstError; abortedMessage: string }): Promise<void> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new NstError('ABORTED', options.abortedMessage));
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'], windowsHide: true });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new NstError('FFMPEG_NOT_FOUND', `Cannot run ffmpeg at ${ffmpeg} (${error.message}).`, { cause: error }));
    });
    child.once('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(new NstError('ABORTED', options.abortedMessage));
      else if (code === 0) resolve();
      else reject(options.failure(stderr.trim().split('\n').slice(-2).join(' ').trim() || `exit ${code ?? killedBy}`));
    });
  });
}
