// Specification of how `nst` fails: for each bad input, the documented exit code and one `nst: ` line on stderr
// naming the file, option or layer at fault, with no stack trace unless --debug asks for one.

import { chmod, cp, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The documented numbers (docs/cli.md), not the code's own table: a changed exit code must fail here.
import { DOCUMENTED_EXIT_CODES as EXIT_CODES } from '../helpers/exit-codes.js';
import { GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS } from '../../src/engine/model/vgg19.js';
import { jsonLines, runNst, type CliResult } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

/** Shared data a case needs: the 64 px fixture PNGs, the all-layer uint8 weights, the float32 block1-3 weights. */
type Need = 'fixtures' | 'uint8' | 'block1-3';

const NEED_PATHS: Readonly<Record<Need, readonly string[]>> = {
  fixtures: ['fixtures'],
  uint8: ['data', 'vgg19-imagenet-uint8'],
  'block1-3': ['data', 'vgg19-imagenet-block1-3'],
};
const present = new Map<Need, boolean>(
  (Object.keys(NEED_PATHS) as Need[]).map((need) => [need, hasShared(...NEED_PATHS[need])]),
);

/** Why a case cannot run here, or null when all it needs is present. */
function missing(needs: readonly Need[]): string | null {
  const absent = needs.filter((need) => !present.get(need)).map((need) => `../shared/${NEED_PATHS[need].join('/')}`);
  return absent.length > 0 ? `skipped: ${absent.join(', ')} absent` : null;
}

const CONTENT = sharedPath('fixtures', 'content_tubingen_64x64.png');
const STYLE = sharedPath('fixtures', 'style_starry_night_64x64.png');
const UINT8 = sharedPath(...NEED_PATHS.uint8);
const BLOCK1_3 = sharedPath(...NEED_PATHS['block1-3']);

/** Files each test run makes for itself in a temporary folder. */
interface Scratch {
  dir: string;
  out: string;
  /** Text in a file named like a JPEG. */
  textJpg: string;
  /** A zero-byte .png. */
  emptyPng: string;
  /** A writable copy of the block1-3 weights with group2-shard1of1 cut in half. */
  truncatedWeights: string;
  absent: string;
}

const scratch = {} as Scratch;

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nst-cli-errors-'));
  Object.assign(scratch, {
    dir,
    out: path.join(dir, 'out.png'),
    textJpg: path.join(dir, 'notes.jpg'),
    emptyPng: path.join(dir, 'empty.png'),
    truncatedWeights: path.join(dir, 'truncated-weights'),
    absent: path.join(dir, 'no-such-file.png'),
  } satisfies Scratch);
  await writeFile(scratch.textJpg, 'these are notes, not a JPEG\n');
  await writeFile(scratch.emptyPng, new Uint8Array(0));
  if (present.get('block1-3')) {
    // The shared copy is read-only (and must stay untouched): copy, make writable, then damage the copy.
    await cp(BLOCK1_3, scratch.truncatedWeights, { recursive: true });
    await chmod(scratch.truncatedWeights, 0o755);
    for (const name of await readdir(scratch.truncatedWeights)) await chmod(path.join(scratch.truncatedWeights, name), 0o644);
    await truncate(path.join(scratch.truncatedWeights, 'group2-shard1of1'), 73_856);
  }
});

afterAll(async () => {
  if (scratch.dir) await rm(scratch.dir, { recursive: true, force: true });
});

interface StylizeRun {
  content?: string;
  styles?: readonly string[];
  output?: string;
  /** --weights; null leaves it out (then NST_WEIGHTS decides, which runNst clears). */
  weights?: string | null;
  options?: readonly string[];
}

/**
 * A `stylize` that succeeds (64 px fixtures, uint8 weights, one iteration on the CPU) with one thing changed,
 * so each case fails for the one reason it is about. Later options override earlier ones in commander.
 */
function stylize(run: StylizeRun = {}): string[] {
  const weights = run.weights === undefined ? UINT8 : run.weights;
  return [
    'stylize',
    run.content ?? CONTENT,
    ...(run.styles ?? [STYLE]),
    '-o',
    run.output ?? scratch.out,
    ...(weights === null ? [] : ['--weights', weights]),
    '--size',
    '64',
    '--iterations',
    '1',
    '--device',
    'cpu',
    ...(run.options ?? []),
  ];
}

const WITH_DATA: readonly Need[] = ['fixtures', 'uint8'];

interface ErrorCase {
  name: string;
  args: () => string[];
  env?: NodeJS.ProcessEnv;
  code: number;
  /** What the line must name: the file, option, value or layer at fault. */
  names: () => readonly string[];
  /** More the sentence must say (how to put it right). */
  says?: RegExp;
  needs: readonly Need[];
}

const { BAD_ARGUMENT, FILE_NOT_FOUND, NOT_AN_IMAGE, BAD_WEIGHTS, WEIGHTS_MISSING_LAYER, WEIGHTS_NOT_FOUND, UNKNOWN_LAYER } = EXIT_CODES;

const CASES: readonly ErrorCase[] = [
  // Image files: exit 3.
  { name: 'a missing content file', args: () => stylize({ content: scratch.absent }), code: FILE_NOT_FOUND, names: () => [scratch.absent], needs: WITH_DATA },
  { name: 'a missing style file', args: () => stylize({ styles: [STYLE, scratch.absent] }), code: FILE_NOT_FOUND, names: () => [scratch.absent], needs: WITH_DATA },
  { name: 'a text file named .jpg as content', args: () => stylize({ content: scratch.textJpg }), code: NOT_AN_IMAGE, names: () => [scratch.textJpg], says: /not an image/, needs: WITH_DATA },
  { name: 'a text file named .jpg as style', args: () => stylize({ styles: [scratch.textJpg] }), code: NOT_AN_IMAGE, names: () => [scratch.textJpg], needs: WITH_DATA },
  { name: 'a zero-byte .png', args: () => stylize({ content: scratch.emptyPng }), code: NOT_AN_IMAGE, names: () => [scratch.emptyPng], says: /empty/, needs: WITH_DATA },

  // Weights: exit 4.
  {
    name: 'a truncated weight shard',
    args: () => stylize({ weights: scratch.truncatedWeights, options: ['--style-layers', 'block2_conv1', '--content-layers', 'block3_conv1'] }),
    code: BAD_WEIGHTS,
    names: () => ['group2-shard1of1', scratch.truncatedWeights],
    says: /truncated/,
    needs: ['fixtures', 'block1-3'],
  },
  {
    name: '--weights pointing nowhere',
    args: () => stylize({ weights: path.join(scratch.dir, 'no-such-weights') }),
    code: WEIGHTS_NOT_FOUND,
    names: () => ['--weights', path.join(scratch.dir, 'no-such-weights')],
    needs: WITH_DATA,
  },
  {
    name: 'NST_WEIGHTS pointing nowhere',
    args: () => stylize({ weights: null }),
    env: { NST_WEIGHTS: '/no/such/vgg19.h5' },
    code: WEIGHTS_NOT_FOUND,
    names: () => ['NST_WEIGHTS', '/no/such/vgg19.h5'],
    needs: WITH_DATA,
  },
  {
    name: 'a requested layer the weights lack',
    args: () => stylize({ weights: BLOCK1_3, options: ['--style-layers', 'block4_conv1', '--content-layers', 'block2_conv2'] }),
    code: WEIGHTS_MISSING_LAYER,
    names: () => ['block4_conv1', BLOCK1_3],
    needs: ['fixtures', 'block1-3'],
  },
  {
    name: 'the default layers with weights that stop at block3',
    args: () => stylize({ weights: BLOCK1_3 }),
    code: WEIGHTS_MISSING_LAYER,
    names: () => ['block4_conv1'],
    needs: ['fixtures', 'block1-3'],
  },

  // Layers: exit 2.
  { name: 'an unknown layer in --style-layers', args: () => stylize({ options: ['--style-layers', 'conv1_1,block6_conv1'] }), code: UNKNOWN_LAYER, names: () => ['--style-layers', 'block6_conv1'], needs: WITH_DATA },
  { name: 'an unknown layer in --content-layers', args: () => stylize({ options: ['--content-layers', 'conv4_5'] }), code: UNKNOWN_LAYER, names: () => ['--content-layers', 'conv4_5'], needs: WITH_DATA },
  { name: 'an unknown layer in --layer-weights', args: () => stylize({ options: ['--layer-weights', 'block1_conv1=1,block6_conv1=2'] }), code: UNKNOWN_LAYER, names: () => ['--layer-weights', 'block6_conv1'], needs: WITH_DATA },
  { name: 'a --layer-weights pair without =', args: () => stylize({ options: ['--layer-weights', 'block1_conv1'] }), code: BAD_ARGUMENT, names: () => ['--layer-weights', 'block1_conv1'], says: /LAYER=WEIGHT/, needs: WITH_DATA },

  // Numbers: exit 2.
  { name: '--size 0', args: () => stylize({ options: ['--size', '0'] }), code: BAD_ARGUMENT, names: () => ['--size', '0'], says: /16 to 16384/, needs: WITH_DATA },
  { name: '--size -5', args: () => stylize({ options: ['--size', '-5'] }), code: BAD_ARGUMENT, names: () => ['--size', '-5'], needs: WITH_DATA },
  { name: '--size abc', args: () => stylize({ options: ['--size', 'abc'] }), code: BAD_ARGUMENT, names: () => ['--size', 'abc'], says: /not a number/, needs: WITH_DATA },
  { name: '--size 64.5', args: () => stylize({ options: ['--size', '64.5'] }), code: BAD_ARGUMENT, names: () => ['--size', '64.5'], says: /whole number/, needs: WITH_DATA },
  { name: 'a negative --style-weight', args: () => stylize({ options: ['--style-weight', '-1'] }), code: BAD_ARGUMENT, names: () => ['--style-weight', '-1'], needs: WITH_DATA },
  { name: 'a negative --content-weight', args: () => stylize({ options: ['--content-weight=-0.5'] }), code: BAD_ARGUMENT, names: () => ['--content-weight', '-0.5'], needs: WITH_DATA },
  { name: 'a negative --tv-weight', args: () => stylize({ options: ['--tv-weight', '-1e-3'] }), code: BAD_ARGUMENT, names: () => ['--tv-weight', '-1e-3'], needs: WITH_DATA },
  { name: 'a NaN --style-weight', args: () => stylize({ options: ['--style-weight', 'NaN'] }), code: BAD_ARGUMENT, names: () => ['--style-weight', 'NaN'], needs: WITH_DATA },
  { name: 'a NaN layer weight', args: () => stylize({ options: ['--layer-weights', 'conv1_1=NaN'] }), code: BAD_ARGUMENT, names: () => ['--layer-weights', 'NaN'], needs: WITH_DATA },
  { name: '--iterations -1', args: () => stylize({ options: ['--iterations', '-1'] }), code: BAD_ARGUMENT, names: () => ['--iterations', '-1'], needs: WITH_DATA },
  { name: '--lr 0', args: () => stylize({ options: ['--lr', '0'] }), code: BAD_ARGUMENT, names: () => ['--lr', '0'], says: /above 0/, needs: WITH_DATA },
  { name: '--threads -1', args: () => stylize({ options: ['--threads', '-1'] }), code: BAD_ARGUMENT, names: () => ['--threads', '-1'], needs: WITH_DATA },
  { name: '--seed 1e20 (past exact integers)', args: () => stylize({ options: ['--seed', '1e20'] }), code: BAD_ARGUMENT, names: () => ['--seed', '1e20'], needs: WITH_DATA },

  // Choices: exit 2.
  { name: '--optimizer foo', args: () => stylize({ options: ['--optimizer', 'foo'] }), code: BAD_ARGUMENT, names: () => ['--optimizer', 'foo', 'lbfgs'], needs: WITH_DATA },
  { name: '--pool median', args: () => stylize({ options: ['--pool', 'median'] }), code: BAD_ARGUMENT, names: () => ['--pool', 'median', 'avg'], needs: WITH_DATA },
  { name: '--init foo', args: () => stylize({ options: ['--init', 'foo'] }), code: BAD_ARGUMENT, names: () => ['--init', 'foo', 'noise'], needs: WITH_DATA },
  { name: '--device tpu', args: () => stylize({ options: ['--device', 'tpu'] }), code: BAD_ARGUMENT, names: () => ['--device', 'tpu', 'cpu'], needs: WITH_DATA },

  // Option combinations and the output: exit 2.
  { name: '--style-blend with two weights for one style', args: () => stylize({ options: ['--style-blend', '1,2'] }), code: BAD_ARGUMENT, names: () => ['--style-blend', '1 style image'], needs: WITH_DATA },
  { name: '--style-blend with one weight for two styles', args: () => stylize({ styles: [STYLE, STYLE], options: ['--style-blend', '1'] }), code: BAD_ARGUMENT, names: () => ['--style-blend', '2 style images'], needs: WITH_DATA },
  { name: '--style-blend weights that add up to 0', args: () => stylize({ styles: [STYLE, STYLE], options: ['--style-blend', '0,0'] }), code: BAD_ARGUMENT, names: () => ['--style-blend'], needs: WITH_DATA },
  { name: '--frames-dir without --save-every', args: () => stylize({ options: ['--frames-dir', path.join(scratch.dir, 'frames')] }), code: BAD_ARGUMENT, names: () => ['--frames-dir', '--save-every'], needs: WITH_DATA },
  { name: '-o with an unsupported extension (.gif)', args: () => stylize({ output: path.join(scratch.dir, 'out.gif') }), code: BAD_ARGUMENT, names: () => ['--output', path.join(scratch.dir, 'out.gif')], says: /\.png/, needs: WITH_DATA },

  // Commander's usage errors: exit 2, in the same one-line form.
  { name: 'an unknown option', args: () => stylize({ options: ['--bogus'] }), code: BAD_ARGUMENT, names: () => ['--bogus', 'nst stylize --help'], needs: WITH_DATA },
  { name: 'a misspelt option (with a suggestion on the same line)', args: () => stylize({ options: ['--styl-weight', '3'] }), code: BAD_ARGUMENT, names: () => ['--styl-weight', '--style-weight'], needs: WITH_DATA },
  { name: 'an option missing its argument', args: () => stylize({ options: ['--size'] }), code: BAD_ARGUMENT, names: () => ['--size', 'argument missing'], needs: WITH_DATA },
  { name: 'a missing style argument', args: () => ['stylize', CONTENT, '-o', scratch.out], code: BAD_ARGUMENT, names: () => ['styles'], needs: [] },
  { name: 'a missing -o', args: () => ['stylize', CONTENT, STYLE], code: BAD_ARGUMENT, names: () => ['--output'], needs: [] },
  { name: 'an unknown command', args: () => ['paint', CONTENT], code: BAD_ARGUMENT, names: () => ['paint', 'nst --help'], needs: [] },

  // The other commands speak the same way.
  {
    name: '`loss` with a missing image',
    args: () => ['loss', scratch.absent, '--style', STYLE, '--content', CONTENT, '--weights', UINT8],
    code: FILE_NOT_FOUND,
    names: () => [scratch.absent],
    needs: WITH_DATA,
  },
  { name: '`loss` without --content for content layers', args: () => ['loss', CONTENT, '--style', STYLE, '--weights', UINT8], code: BAD_ARGUMENT, names: () => ['--content'], needs: WITH_DATA },
  { name: '`bench` with --size 8', args: () => ['bench', '--random-weights', '--size', '8', '--iterations', '1'], code: BAD_ARGUMENT, names: () => ['--size', '8'], needs: [] },
];

/** One `nst: ` line on stderr and nothing else: no stack, no second line, nothing on stdout. */
function expectOneLineError(result: CliResult, code: number, names: readonly string[], says?: RegExp): string {
  expect(result.code, `exit code; stderr was:\n${result.stderr}`).toBe(code);
  expect(result.stderr).toMatch(/^nst: [^\n]+\n$/);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stdout).toBe('');
  const line = result.stderr.trimEnd();
  for (const name of names) expect(line).toContain(name);
  if (says) expect(line).toMatch(says);
  return line;
}

describe('nst fails with the documented exit code and one line naming the fault', () => {
  for (const c of CASES) {
    const why = missing(c.needs);
    it.skipIf(why !== null)(`${c.name} → exit ${c.code}${why ? ` (${why})` : ''}`, async () => {
      const result = await runNst(c.args(), c.env ? { env: c.env } : {});
      expectOneLineError(result, c.code, c.names(), c.says);
      expect(existsSync(scratch.out), 'a failed run leaves no output image').toBe(false);
    });
  }
});

describe('--debug adds the stack trace, after the same line', () => {
  const picks = ['--size 0', 'a missing content file', 'no --weights and NST_WEIGHTS unset', 'an unknown layer in --style-layers'];
  for (const c of CASES.filter((x) => picks.includes(x.name))) {
    const why = missing(c.needs);
    it.skipIf(why !== null)(`${c.name}${why ? ` (${why})` : ''}`, async () => {
      const plain = await runNst(c.args());
      const line = expectOneLineError(plain, c.code, c.names());
      for (const args of [[...c.args(), '--debug'], ['--debug', ...c.args()]]) {
        const debug = await runNst(args);
        expect(debug.code).toBe(c.code);
        const lines = debug.stderr.split('\n');
        expect(lines[0]).toBe(line);
        expect(debug.stderr).toMatch(/^NstError: /m);
        expect(debug.stderr).toMatch(/^ {4}at /m);
      }
    });
  }
});

describe('the same run without a fault succeeds', () => {
  const why = missing(WITH_DATA);
  it.skipIf(why !== null)(`stylize --json prints JSON lines, then done, and writes the PNG${why ? ` (${why})` : ''}`, async () => {
    const output = path.join(scratch.dir, 'stylized.png');
    const result = await runNst(
      stylize({ output, options: ['--iterations', '3', '--json', '--style-layers', 'conv1_1,relu2_1,conv3_1,conv4_1,conv5_1', '--content-layers', 'relu4_2'] }),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');

    const lines = result.stdout.split('\n').filter((line) => line.length > 0);
    const objects = jsonLines(result.stdout);
    expect(objects).toHaveLength(lines.length);
    const progress = objects.slice(0, -1);
    expect(progress.map((p) => p.iteration)).toEqual([1, 2, 3]);
    for (const p of progress) {
      expect(Object.keys(p).sort()).toEqual(['content', 'iteration', 'loss', 'ms', 'style', 'tv']);
      expect(Number.isFinite(p.loss)).toBe(true);
      expect(Number.isFinite(p.tv)).toBe(true);
      expect(Number.isFinite(p.ms)).toBe(true);
      // Aliases on the command line, canonical Keras names in the output.
      expect(Object.keys(p.style as object)).toEqual([...GATYS_STYLE_LAYERS]);
      expect(Object.keys(p.content as object)).toEqual([...GATYS_CONTENT_LAYERS]);
      for (const value of [...Object.values(p.style as object), ...Object.values(p.content as object)]) {
        expect(Number.isFinite(value)).toBe(true);
      }
    }

    expect(objects.at(-1)).toMatchObject({ done: true, output, width: 64, height: 64, iterations: 3 });
    expect(existsSync(output)).toBe(true);
    const metadata = await sharp(output).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(['png', 64, 64]);
    await sharp(output).raw().toBuffer(); // decodes whole, not just its header
  });
});
