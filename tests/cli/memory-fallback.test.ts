// `nst stylize` under a memory limit: a run the estimate says will not fit is tiled or optimised smaller and
// upsampled, with one line saying so; a real out-of-memory failure (a data-segment limit on the process) is
// retried smaller; when nothing fits, one sentence says what it would need.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/engine/io/image.js';
import { MB, estimateMemory, formatBytes, largestFittingSize } from '../../src/engine/render/memory.js';
import { GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS } from '../../src/engine/model/vgg19.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { jsonLines, runNst } from '../helpers/cli.js';

const WEIGHTS = sharedPath('data', 'vgg19-imagenet-uint8');
const CONTENT = sharedPath('data', 'images', 'content_tubingen_128.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_128.png');
const present = hasShared('data', 'vgg19-imagenet-uint8') && hasShared('data', 'images', 'content_tubingen_128.png') && hasShared('data', 'images', 'style_starry_night_128.png');
const BLOCK1 = ['--style-layers', 'block1_conv1', '--content-layers', 'block1_conv2'];

function outputPath(name: string): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'nst-memory-')), name);
}

const stylize = (output: string, args: string[]) =>
  runNst(['stylize', CONTENT, STYLE, '-o', output, '--weights', WEIGHTS, '--device', 'cpu', '--threads', '2', '--iterations', '2', '--json', ...args]);

/** stderr without onnxruntime's own log lines (it logs a failed kernel before nst reports it). */
const nstLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('nst: '));

describe.skipIf(!present)('nst stylize under a memory limit', () => {
  it('--tile off: optimises at the largest size the estimate fits in the limit, upsamples to the requested size, says so', async () => {
    const output = outputPath('small.png');
    const result = await stylize(output, ['--size', '256', '--memory-limit', '600', '--tile', 'off']);
    expect(result.code).toBe(0);
    // Over the limit, 'auto' convs are costed and run as Conv (smaller kernels than Winograd's).
    const spec = { width: 256, height: 256, styleLayers: GATYS_STYLE_LAYERS, contentLayers: GATYS_CONTENT_LAYERS, pool: 'max' as const, optimizer: 'lbfgs' as const, device: 'cpu' as const, convAlgorithm: 'direct' as const, maxPoolGrad: 'argmax' as const };
    const fit = largestFittingSize(spec, 600 * MB)!;
    expect(fit).toBeGreaterThan(64);
    expect(fit).toBeLessThan(256);
    const need = formatBytes(estimateMemory(spec).totalBytes);
    expect(nstLines(result.stderr)).toEqual([`nst: 256x256 needs about ${need}, over the 600 MB memory limit: optimising at ${fit} px and upsampling to 256 px`]);
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({ done: true, width: 256, height: 256, plan: { mode: 'downscaled', sizePx: fit } });
    const written = await decodeImage(output);
    expect([written.width, written.height]).toEqual([256, 256]);
  });

  it('--tile auto: renders tiles after a whole-image pass instead, at the full size', async () => {
    const output = outputPath('tiled.png');
    const result = await stylize(output, ['--size', '256', '--memory-limit', '350', ...BLOCK1]);
    expect(result.code).toBe(0);
    expect(nstLines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(/^nst: 256x256 needs about \d+ MB, over the 350 MB memory limit: rendering (\d+) tiles of (\d+) px \(overlap \d+ px\) after a whole-image pass at 128 px$/m);
    const lines = jsonLines(result.stdout);
    const done = lines.at(-1)!;
    expect(done).toMatchObject({ done: true, width: 256, height: 256, plan: { mode: 'tiled', coherencePx: 128 } });
    const plan = done.plan as { tiles: number };
    expect(done.iterations).toBe(2 * (1 + plan.tiles));
    expect(lines.filter((l) => l.phase === 'tile')).toHaveLength(2 * plan.tiles);
    expect(done.peakRssMb as number).toBeLessThan(350 * 1.2);
  });

  it.skipIf(process.platform !== 'linux')('a real out-of-memory failure (ulimit -d) is retried at a smaller size until one fits', async () => {
    const output = outputPath('oom.png');
    // The estimate allows 512 px (--memory-limit is high); the data-segment limit makes onnxruntime's arena fail.
    // 800 MB: 512 px sometimes fitted in 900 MB once the weights left the protobuf; the first retry (388 px) fits in
    // it, where 750 MB took a second retry.
    const result = await runNst(['stylize', CONTENT, STYLE, '-o', output, '--weights', WEIGHTS, '--device', 'cpu', '--threads', '2',
      '--iterations', '2', '--json', '--size', '512', '--memory-limit', '100000', '--tile', 'off', ...BLOCK1], { dataLimitKib: 800_000 });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const lines = nstLines(result.stderr);
    expect(lines[0]).toMatch(/^nst: out of memory at 512 px \((Failed to allocate memory for requested buffer of size \d+|std::bad_alloc|Array buffer allocation failed)\): retrying within [\d.]+ [MG]B$/);
    expect(lines.at(-1)).toMatch(/^nst: 512x512 needs about .*: optimising at \d+ px and upsampling to 512 px$/);
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({ done: true, width: 512, height: 512, plan: { mode: 'downscaled' } });
  });

  it('when not even 64 px fits, fails with one sentence saying what it needs (exit 5)', async () => {
    const result = await stylize(outputPath('none.png'), ['--size', '512', '--memory-limit', '300']);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^nst: Not even a 64-px run fits in the 300 MB memory limit \(it needs about \d+ MB\): raise --memory-limit or choose shallower layers\.\n$/);
  });
});
