// SIGINT, SIGTERM and SIGHUP stop `nst stylize`, `nst resume`, `nst batch` and `nst video` alike (issue 13, classes 1
// and 2): the run stops at an iteration boundary, writes its image only once it has taken a step, keeps a checkpoint
// however short it ran, says so in one line and exits 128 + the signal's number; a second signal ends it at once.
// Real processes on real (block1–3 uint8) weights at 32 px; each signal is timed by what the run has shown.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import { MANIFEST_NAME, type BatchManifest } from '../../src/engine/persist/batch-manifest.js';
import { jsonLines, runNst, spawnNst } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const WEIGHTS = ['data', 'vgg19-imagenet-block1-3'] as const;
const CONTENT = ['data', 'images', 'content_tubingen_64.png'] as const;
const STYLE = ['data', 'images', 'style_starry_night_64.png'] as const;
const present = hasShared(...WEIGHTS) && hasShared(...CONTENT) && hasShared(...STYLE);

/** The layers the block1–3 weights hold; 32 px, one thread and no adaptive stop keep an iteration short and steady. */
const RUN = ['--weights', sharedPath(...WEIGHTS), '--size', '32', '--device', 'cpu', '--threads', '1', '--stop', 'off', '--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2'];

const stylizeArgs = (output: string, iterations: number, extra: string[] = []): string[] => ['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', output, '--iterations', String(iterations), ...RUN, ...extra];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started `nst`: its output so far, its end, and a wait for what it has shown (rejects if it ends first). */
function start(args: readonly string[], env: NodeJS.ProcessEnv) {
  const child = spawnNst(args, { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const until = async (seen: () => boolean, what: string, timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!seen()) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nst ended or took too long before ${what}:\n${stderr}\n${stdout}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const iterationAtLeast = (n: number) => (): boolean => jsonLines(stdout).some((l) => typeof l.iteration === 'number' && l.iteration >= n);
  return { child, exited, until, iterationAtLeast, stdout: () => stdout, stderr: () => stderr };
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function workspace(): { dir: string; env: NodeJS.ProcessEnv; runs: () => string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-stop-'));
  made.push(dir);
  const data = path.join(dir, 'data');
  return { dir, env: { NST_DATA_DIR: data, TMPDIR: dir }, runs: () => (existsSync(path.join(data, 'runs')) ? readdirSync(path.join(data, 'runs')) : []) };
}

const STOPPED_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
const manifestOf = (dataDir: string, runId: string): { stopped: boolean; progress: { iteration: number; totalIterations: number } } =>
  JSON.parse(readFileSync(path.join(dataDir, 'runs', runId, MANIFEST_FILE), 'utf8'));
const isPng = (file: string): Promise<boolean> => sharp(file).metadata().then((m) => m.format === 'png', () => false);

describe.skipIf(!present)('a stop signal stops nst stylize at an iteration boundary, keeps its work and says how to go on', () => {
  it('SIGINT before the first iteration leaves an existing -o as it was, keeps a checkpoint, exits 130; nst resume finishes the run', async () => {
    const { dir, env } = workspace();
    const output = path.join(dir, 'out.png');
    // Earlier work under the output's name: an unstyled photo must never replace it.
    copyFileSync(sharedPath(...STYLE), output);
    const before = readFileSync(output);
    // --video spools its start frame before the first iteration: the signal goes once that index is on disk.
    const video = path.join(dir, 'out.gif');
    const run = start(stylizeArgs(output, 6, ['--video', video, '--frame-every', '2']), env);
    const framesRoot = path.join(dir, 'data', 'run-frames');
    await run.until(() => existsSync(framesRoot) && readdirSync(framesRoot).some((id) => existsSync(path.join(framesRoot, id, 'frames.jsonl'))), 'the spool');
    run.child.kill('SIGINT');
    expect(await run.exited, run.stderr()).toEqual({ code: 130, signal: null });
    expect(readFileSync(output).equals(before)).toBe(true);
    expect(existsSync(video)).toBe(false);
    const line = /^nst: stopped before the first of 6 iterations \(SIGINT\); (\S+) was left as it was; its checkpoint is in (\S+); finish it with: nst resume (\S+)$/m.exec(run.stderr());
    expect(line, run.stderr()).not.toBeNull();
    const [, named, runDir, runId] = line!;
    expect(named).toBe(output);
    expect(runDir).toBe(path.join(dir, 'data', 'runs', runId!));
    expect(manifestOf(path.join(dir, 'data'), runId!)).toMatchObject({ stopped: true, progress: { iteration: 0, totalIterations: 6 } });
    expect(jsonLines(run.stdout()).filter((l) => 'iteration' in l)).toEqual([]);
    expect((await runNst(['runs'], { env })).stdout).toMatch(new RegExp(`^${runId}\\s+0/6\\s`, 'm'));

    const resumed = await runNst(['resume', runId!, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ done: true, written: true, iterations: 6, stopped: false, runId, video: { output: video, capturedFrames: 4 } });
    expect(await isPng(output)).toBe(true);
    expect(readdirSync(path.join(dir, 'data', 'runs'))).toEqual([]);
    expect(existsSync(path.join(framesRoot, runId!))).toBe(false);
  }, 60_000);

  it.each(['SIGTERM', 'SIGHUP'] as const)('%s mid-run, sooner than the first checkpoint: the image so far, a checkpoint, one stopped line, exit 128 + N', async (signal) => {
    const { dir, env } = workspace();
    const output = path.join(dir, 'out.png');
    // The default interval (60 s) never comes: what is kept is the snapshot taken at the stop.
    const run = start(stylizeArgs(output, 200, ['--json']), env);
    await run.until(run.iterationAtLeast(3), 'iteration 3');
    run.child.kill(signal);
    expect(await run.exited, run.stderr()).toEqual({ code: STOPPED_CODES[signal], signal: null });
    const summary = jsonLines(run.stdout()).at(-1)!;
    expect(summary).toMatchObject({ done: true, written: true, stopped: true, stop: { kind: 'stopped' } });
    const at = summary.iterations as number;
    expect(at).toBeGreaterThanOrEqual(3);
    expect(await isPng(output)).toBe(true);
    const runId = summary.runId as string;
    expect(run.stderr().trim().split('\n')).toEqual([
      `nst: stopped at iteration ${at} of 200 (${signal}); the image so far is in ${output}; its checkpoint is in ${path.join(dir, 'data', 'runs', runId)}; finish it with: nst resume ${runId}`,
    ]);
    expect(manifestOf(path.join(dir, 'data'), runId)).toMatchObject({ stopped: true, progress: { iteration: at, totalIterations: 200 } });
    // nst resume stops the same way (it is a stylize run), with the same codes.
    const resumed = start(['resume', runId, '--json'], env);
    await resumed.until(resumed.iterationAtLeast(at + 2), `iteration ${at + 2}`);
    resumed.child.kill(signal);
    expect(await resumed.exited, resumed.stderr()).toEqual({ code: STOPPED_CODES[signal], signal: null });
    expect(resumed.stderr()).toMatch(new RegExp(`^nst: stopped at iteration \\d+ of 200 \\(${signal}\\); .*finish it with: nst resume ${runId}$`, 'm'));
  }, 60_000);

  it('SIGINT while checkpoints are being written leaves a whole checkpoint and no temp file; it resumes to the full count', async () => {
    const { dir, env } = workspace();
    const output = path.join(dir, 'out.png');
    // A checkpoint after every iteration (written in the background while the next one runs): the signal lands in one.
    const run = start(stylizeArgs(output, 30, ['--json', '--checkpoint-every', '0.001']), env);
    const runs = path.join(dir, 'data', 'runs');
    const writing = (): boolean => existsSync(runs) && readdirSync(runs).some((id) => readdirSync(path.join(runs, id)).some((n) => n.endsWith('.tmp')));
    await run.until(() => run.iterationAtLeast(3)() && writing(), 'a checkpoint write after iteration 3');
    run.child.kill('SIGINT');
    expect(await run.exited, run.stderr()).toEqual({ code: 130, signal: null });
    const summary = jsonLines(run.stdout()).at(-1)!;
    const runId = summary.runId as string;
    expect(manifestOf(path.join(dir, 'data'), runId)).toMatchObject({ stopped: true, progress: { iteration: summary.iterations } });
    expect(readdirSync(path.join(runs, runId)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const resumed = await runNst(['resume', runId, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ done: true, iterations: 30, stopped: false });
    expect(readdirSync(runs)).toEqual([]);
  }, 60_000);

  it('SIGTERM after the last iteration (during the final write) finds the run finished: the whole image, exit 0, no checkpoint', async () => {
    const { dir, env, runs } = workspace();
    const output = path.join(dir, 'out.png');
    const run = start(stylizeArgs(output, 4, ['--json', '--checkpoint-every', '0.001']), env);
    await run.until(run.iterationAtLeast(4), 'the last iteration');
    run.child.kill('SIGTERM');
    expect(await run.exited, run.stderr()).toEqual({ code: 0, signal: null });
    expect(jsonLines(run.stdout()).at(-1)).toMatchObject({ done: true, written: true, iterations: 4, stopped: false });
    expect(await isPng(output)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(runs()).toEqual([]);
  }, 60_000);

  it('a second SIGINT while the run is stopping ends it at once, leaving an existing -o whole', async () => {
    const { dir, env } = workspace();
    const output = path.join(dir, 'out.png');
    copyFileSync(sharedPath(...STYLE), output);
    const before = readFileSync(output);
    // 256 px: an iteration takes long enough that the second signal comes before the first stop is through.
    const run = start(['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', output, '--iterations', '50', ...RUN, '--size', '256', '--json'], env);
    await run.until(run.iterationAtLeast(1), 'iteration 1');
    run.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 30));
    run.child.kill('SIGINT');
    expect(await run.exited, run.stderr()).toEqual({ code: 130, signal: null });
    expect(run.stderr()).toMatch(/^nst: SIGINT again: ending now, without waiting for the work in progress$/m);
    expect(run.stderr()).not.toMatch(/nst: stopped at/);
    expect(readFileSync(output).equals(before)).toBe(true);
  }, 60_000);
});

describe.skipIf(!present)('nst batch and nst video stop on the same signals with the same codes', () => {
  it('nst batch: SIGHUP mid-item exits 129, that item unwritten and still to do', async () => {
    const { dir, env } = workspace();
    const inputs = path.join(dir, 'in');
    const out = path.join(dir, 'out');
    mkdirSync(inputs);
    for (const name of ['a.png', 'b.png']) copyFileSync(sharedPath(...CONTENT), path.join(inputs, name));
    const run = start(['batch', '--content', inputs, '--style', sharedPath(...STYLE), '-o', out, '--iterations', '200', ...RUN, '--json'], env);
    await run.until(() => jsonLines(run.stdout()).some((l) => l.item === 1 && typeof l.iteration === 'number' && l.iteration >= 2), 'item 1, iteration 2');
    run.child.kill('SIGHUP');
    expect(await run.exited, run.stderr()).toEqual({ code: 129, signal: null });
    expect(run.stderr()).toMatch(/^nst: Stopped \(SIGHUP\): 0 of 2 done\. /m);
    const manifest = JSON.parse(readFileSync(path.join(out, MANIFEST_NAME), 'utf8')) as BatchManifest;
    expect(manifest.items.map((i) => i.status)).toEqual(['pending', 'pending']);
    expect(readdirSync(out).filter((n) => n !== MANIFEST_NAME)).toEqual([]);
  }, 60_000);

  it('nst video: SIGTERM while ffmpeg encodes cancels it, leaves no file (nor a temp one) and exits 143', async () => {
    const { dir, env } = workspace();
    const frames = path.join(dir, 'frames');
    mkdirSync(frames);
    for (const n of [0, 1]) await sharp(sharedPath(...CONTENT)).resize(32, 32).toFile(path.join(frames, `frame_00000${n}.png`));
    // An "ffmpeg" that answers -version and then encodes forever, saying when it has started.
    const started = path.join(dir, 'encoding');
    const ffmpeg = path.join(dir, 'slow-ffmpeg');
    writeFileSync(ffmpeg, `#!/bin/sh\ncase " $* " in *" -version "*) echo "ffmpeg version 6.1"; exit 0;; esac\ntouch "${started}"\nexec sleep 30\n`, { mode: 0o755 });
    const output = path.join(dir, 'out.mp4');
    const run = start(['video', frames, '-o', output, '--ffmpeg', ffmpeg], env);
    await run.until(() => existsSync(started), 'the encoder');
    run.child.kill('SIGTERM');
    expect(await run.exited, run.stderr()).toEqual({ code: 143, signal: null });
    expect(run.stderr()).toMatch(new RegExp(`^nst: stopped by SIGTERM while encoding ${output.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; no video was written\\.$`, 'm'));
    expect(readdirSync(dir).filter((n) => n.includes('out.mp4'))).toEqual([]);
  }, 30_000);
});
