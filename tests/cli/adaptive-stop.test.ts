// `--stop` and `--stop-tolerance` (stylize and batch): parsed into the engine's rule, and a real run's last line and
// --json done line saying why it stopped.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addRenderOptions, readRenderOptions } from '../../src/cli/render-options.js';
import { DEFAULT_CONVERGENCE } from '../../src/engine/render/convergence.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';
import { jsonLines, runNst } from '../helpers/cli.js';

function parsed(args: string[]): ReturnType<typeof readRenderOptions> {
  const command = addRenderOptions(new Command()).exitOverride();
  command.parse(args, { from: 'user' });
  return readRenderOptions(command.opts(), { styleCount: 1 });
}

describe('--stop and --stop-tolerance', () => {
  it('stop when the picture is done by default, at most --iterations; --stop off runs them all', () => {
    expect(parsed([]).settings.converge).toEqual(DEFAULT_CONVERGENCE);
    expect(parsed(['--stop', 'off']).settings.converge).toBeUndefined();
    expect(parsed(['--stop-tolerance', '2']).settings.converge).toEqual({ ...DEFAULT_CONVERGENCE, lossDecrease: 2 * DEFAULT_CONVERGENCE.lossDecrease, pixelChange: 2 * DEFAULT_CONVERGENCE.pixelChange });
  });

  it('refuses other values, naming the option', () => {
    expect(() => parsed(['--stop', 'never'])).toThrow(/--stop: "never" is not one of auto, off/);
    expect(() => parsed(['--stop-tolerance', '0'])).toThrow(/--stop-tolerance/);
    expect(() => parsed(['--stop-tolerance', 'lots'])).toThrow(/--stop-tolerance/);
  });
});

const WEIGHTS = ['data', 'vgg19-imagenet-uint8'] as const;
const CONTENT = ['data', 'images', 'content_tubingen_64.png'] as const;
const STYLE = ['data', 'images', 'style_starry_night_64.png'] as const;
const present = hasShared(...WEIGHTS) && hasShared(...CONTENT) && hasShared(...STYLE);

describe.skipIf(!present)('nst stylize says why it stopped (real weights, 64 px)', () => {
  const args = (output: string): string[] => ['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', output, '--weights', sharedPath(...WEIGHTS), '--size', '64', '--device', 'cpu', '--threads', '2'];
  const out = (): string => path.join(mkdtempSync(path.join(os.tmpdir(), 'nst-adaptive-cli-')), 'out.png');

  it('converged: the last line gives the iteration, the loss decrease and the pixel change over the window', async () => {
    // A looser tolerance, so the picture is "done" within a few dozen iterations.
    const result = await runNst([...args(out()), '--stop-tolerance', '4', '--iterations', '300']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^nst: converged at iteration (\d+): loss fell [\d.]+% and pixels moved [\d.]+ levels over the last 20 iterations$/);
    const stoppedAt = Number(/iteration (\d+)/.exec(lines.at(-1)!)![1]);
    expect(stoppedAt).toBeLessThan(300);
    expect(lines.at(-2)).toContain(`${stoppedAt} iterations`);
  }, 300_000);

  it('--json: the done line carries the reason; a cap reached is said as the option', async () => {
    const result = await runNst([...args(out()), '--iterations', '25', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const done = jsonLines(result.stdout).at(-1)!;
    expect(done).toMatchObject({ done: true, iterations: 25, stopped: false, stop: { kind: 'cap', iteration: 25, cap: 25, message: 'reached --iterations 25' } });
  }, 300_000);
});
