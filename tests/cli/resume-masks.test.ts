// `nst resume` of a masked `nst stylize` run killed after a checkpoint: the masks are saved in the run's folder and the
// resumption paints with them (not with the mask files, which are swapped before it), ending as an uninterrupted run.

import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/engine/io/image.js';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import { builtInWeightsFolder } from '../../src/engine/weights/locate.js';
import { hasShared, REPO_ROOT, sharedPath } from '../helpers/shared-data.js';
import { jsonLines, runNst } from '../helpers/cli.js';

const CONTENT = ['data', 'images', 'content_tubingen_64.png'] as const;
const STYLE_A = ['data', 'images', 'style_starry_night_64.png'] as const;
const STYLE_B = ['data', 'images', 'style_the_scream.jpg'] as const;
const present = hasShared(...CONTENT) && hasShared(...STYLE_A) && hasShared(...STYLE_B);
const SIZE = 64;
const ITERATIONS = 40;
/** Two scales (32 and 64 px): a quarter of the iterations at 32, all of them at 64. */
const TOTAL = ITERATIONS / 4 + ITERATIONS;

async function rows(file: string, from: number, to: number): Promise<void> {
  const data = Buffer.alloc(SIZE * SIZE);
  data.fill(255, from * SIZE, to * SIZE);
  await sharp(data, { raw: { width: SIZE, height: SIZE, channels: 1 } }).png().toFile(file);
}

function stylizeArgs(output: string, masks: string, extra: string[]): string[] {
  return [
    'stylize', sharedPath(...CONTENT), sharedPath(...STYLE_A), sharedPath(...STYLE_B), '-o', output, '--masks', masks,
    '--weights', builtInWeightsFolder()!, '--size', String(SIZE), '--scales', '2', '--iterations', String(ITERATIONS), '--stop', 'off',
    '--device', 'cpu', '--threads', '1', '--json', ...extra,
  ];
}

/** The run id once a complete checkpoint at iteration `atLeast` or later is on disk under dataDir/runs. */
async function waitForCheckpoint(dataDir: string, atLeast: number, timeoutMs: number): Promise<string> {
  const runs = path.join(dataDir, 'runs');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Not a finished run's folder on its way out (.removed-…).
    for (const id of existsSync(runs) ? readdirSync(runs).filter((name) => !name.startsWith('.')) : []) {
      const manifest = path.join(runs, id, MANIFEST_FILE);
      if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { progress: { iteration: number } }).progress.iteration >= atLeast) return id;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no checkpoint at iteration ${atLeast} or later appeared in ${runs} within ${timeoutMs} ms`);
}

describe.skipIf(!present)('nst resume of a masked two-scale run killed after a checkpoint (built-in uint8 VGG19, 64 px)', () => {
  it('continues with the checkpoint\'s masks and ends within 1% of the uninterrupted run\'s loss and image', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-resume-masks-'));
    const env = { NST_DATA_DIR: path.join(dir, 'data') };
    const [top, bottom] = [path.join(dir, 'top.png'), path.join(dir, 'bottom.png')];
    await rows(top, 0, SIZE / 2);
    await rows(bottom, SIZE / 2, SIZE);
    const masks = `${top},${bottom}`;
    const output = path.join(dir, 'out.png');
    const referenceOutput = path.join(dir, 'reference.png');

    const reference = runNst(stylizeArgs(referenceOutput, masks, ['--checkpoint-every', '0']), { env });
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/nst.js'), ...stylizeArgs(output, masks, ['--checkpoint-every', '0.2'])], {
      cwd: REPO_ROOT,
      env: { ...process.env, NST_WEIGHTS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // The first checkpoint (the coarse scale): the resumption then resizes the saved masks to both scales itself.
    const runId = await waitForCheckpoint(env.NST_DATA_DIR, 1, 90_000);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const runFolder = path.join(env.NST_DATA_DIR, 'runs', runId);
    const manifest = JSON.parse(readFileSync(path.join(runFolder, MANIFEST_FILE), 'utf8')) as { progress: { iteration: number }; state: { masks?: unknown }; files: { name: string }[] };
    expect(manifest.state.masks).toEqual({ styles: [{ width: SIZE, height: SIZE }, { width: SIZE, height: SIZE }], content: null });
    expect(manifest.files.map((f) => f.name)).toContainEqual(expect.stringMatching(/^masks-\d+\.bin$/));
    const at = manifest.progress.iteration;
    expect(at).toBeLessThan(TOTAL);

    // The mask files are swapped: a resumption that read them would paint each style in the other's region.
    copyFileSync(top, path.join(dir, 'swap.png'));
    copyFileSync(bottom, top);
    copyFileSync(path.join(dir, 'swap.png'), bottom);

    const resumed = await runNst(['resume', runId, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const done = jsonLines(resumed.stdout).at(-1)!;
    expect(done).toMatchObject({ done: true, output, runId, iterations: TOTAL, stopped: false });

    const whole = await reference;
    expect(whole.code, whole.stderr).toBe(0);
    const uninterrupted = jsonLines(whole.stdout).at(-1)!;
    expect(uninterrupted).toMatchObject({ done: true, iterations: TOTAL });
    const relative = Math.abs((done.finalLoss as number) - (uninterrupted.finalLoss as number)) / (uninterrupted.finalLoss as number);
    const [a, b] = [await decodeImage(output), await decodeImage(referenceOutput)];
    let sum = 0;
    for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
    const meanLevels = sum / a.data.length;
    console.log(`[resume-masks] killed at iteration ${at} of ${TOTAL}; final loss ${done.finalLoss} resumed vs ${uninterrupted.finalLoss} (${(100 * relative).toFixed(4)}%); images differ by ${meanLevels.toFixed(3)} levels on average`);
    expect(relative).toBeLessThan(0.01);
    expect(meanLevels).toBeLessThan(1);
  }, 180_000);
});
