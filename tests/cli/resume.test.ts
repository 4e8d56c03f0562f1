// `nst stylize` checkpoints and `nst resume`: a run killed with SIGKILL after a checkpoint finishes with the same
// iteration count and the loss of an uninterrupted run; `nst runs` lists it; bad run ids and checkpoints are refused.

import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import { CheckpointWriter } from '../../src/engine/persist/checkpoint-writer.js';
import { newRunId } from '../../src/engine/persist/run-folder.js';
import { takeRun } from '../../src/engine/persist/run-lock.js';
import type { RenderState } from '../../src/engine/render/render.js';
import { loadWeights } from '../../src/engine/weights/load.js';
import { describeFingerprint, weightsFingerprint } from '../../src/engine/weights/fingerprint.js';
import { hasShared, REPO_ROOT, sharedPath } from '../helpers/shared-data.js';
import { jsonLines, runNst, spawnNst } from '../helpers/cli.js';

const WEIGHTS = ['data', 'vgg19-imagenet-uint8'] as const;
const CONTENT = ['data', 'images', 'content_tubingen_64.png'] as const;
const STYLE = ['data', 'images', 'style_starry_night_64.png'] as const;
const present = hasShared(...WEIGHTS) && hasShared(...CONTENT) && hasShared(...STYLE);

// Long enough that a checkpoint lands well before the end on a busy machine (it lands right after the iteration
// that asked for it, but that iteration comes after the interval): the kill comes at iteration 7 or 8 on the quiet
// 2-core box, so 60 leaves room for a machine seven times slower. A resume that lost the optimizer's history shows
// more, not less, in a shorter run's final loss (the resumed and uninterrupted ones have matched to the bit).
const ITERATIONS = 60;

function stylizeArgs(content: string, output: string, extra: string[]): string[] {
  return [
    'stylize', content, sharedPath(...STYLE), '-o', output, '--weights', sharedPath(...WEIGHTS),
    // --stop off: these runs are about reaching the count across a kill; the adaptive stop would end them near
    // iteration 45, and a kill could land after the output is written (adaptive-stop.test.ts tests the stop).
    '--size', '64', '--iterations', String(ITERATIONS), '--stop', 'off', '--device', 'cpu', '--threads', '1', '--json', ...extra,
  ];
}

/**
 * Resolves with the run id once a complete checkpoint (its manifest) at iteration `atLeast` or later exists under
 * dataDir/runs: a few iterations in, so the optimizer has curvature history to lose if resuming dropped it.
 */
async function waitForCheckpoint(dataDir: string, atLeast: number, timeoutMs: number): Promise<string> {
  const runs = path.join(dataDir, 'runs');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const id of existsSync(runs) ? readdirSync(runs) : []) {
      const manifest = path.join(runs, id, MANIFEST_FILE);
      // The manifest is replaced by rename, so a read sees one complete version or the other.
      if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { progress: { iteration: number } }).progress.iteration >= atLeast) return id;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no checkpoint at iteration ${atLeast} or later appeared in ${runs} within ${timeoutMs} ms`);
}

const FAST_WEIGHTS = ['data', 'vgg19-imagenet-block1-3'] as const;
const CONTENT_128 = ['data', 'images', 'content_tubingen_128.png'] as const;
const STYLE_128 = ['data', 'images', 'style_starry_night_128.png'] as const;

describe.skipIf(!hasShared(...FAST_WEIGHTS) || !hasShared(...CONTENT_128) || !hasShared(...STYLE_128))('when a checkpoint is whole (128 px)', () => {
  it('right after the iteration that asked for it: a run checkpointed every 1 ms and killed after iteration 12 has one of iteration 6 or later', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-resume-'));
    const dataDir = path.join(dir, 'data');
    const args = ['stylize', sharedPath(...CONTENT_128), sharedPath(...STYLE_128), '-o', path.join(dir, 'out.png'), '--weights', sharedPath(...FAST_WEIGHTS), '--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2', '--size', '128', '--iterations', '60', '--stop', 'off', '--device', 'cpu', '--threads', '1', '--checkpoint-every', '0.001', '--json'];
    const child = spawnNst(args, { env: { NST_DATA_DIR: dataDir } });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    let buffer = '';
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      // Killed as soon as iteration 12's line is out: the checkpoints asked for before it must be on disk.
      if (jsonLines(buffer.slice(0, buffer.lastIndexOf('\n') + 1)).some((line) => line.iteration === 12)) child.kill('SIGKILL');
    });
    expect(await exited).toBe('SIGKILL');
    const [runId] = readdirSync(path.join(dataDir, 'runs'));
    const manifest = path.join(dataDir, 'runs', runId!, MANIFEST_FILE);
    // Each file step used to wait for an evaluation to end (onnxruntime runs on the run's thread): no checkpoint at
    // all by iteration 20, the first one (of iteration 1) by iteration 40.
    expect(existsSync(manifest)).toBe(true);
    expect((JSON.parse(readFileSync(manifest, 'utf8')) as { progress: { iteration: number } }).progress.iteration).toBeGreaterThanOrEqual(6);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
});

describe.skipIf(!present)('nst stylize --checkpoint-every, kill -9, nst resume (real uint8 VGG19, 64 px)', () => {
  it('finishes with the same iteration count and a final loss within 1% of an uninterrupted run', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-resume-'));
    const dataDir = path.join(dir, 'data');
    const env = { NST_DATA_DIR: dataDir };
    // The content through a path with a space, copied, so the checkpoint's checksum is of a file this test owns.
    const content = path.join(dir, 'the content.png');
    copyFileSync(sharedPath(...CONTENT), content);
    const contentBefore = { bytes: readFileSync(content), mtimeMs: statSync(content).mtimeMs };
    const output = path.join(dir, 'out.png');

    // The uninterrupted reference runs alongside the one that is killed.
    const reference = runNst(stylizeArgs(content, path.join(dir, 'reference.png'), ['--checkpoint-every', '0']), { env });
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/nst.js'), ...stylizeArgs(content, output, ['--checkpoint-every', '0.2'])], {
      cwd: REPO_ROOT,
      env: { ...process.env, NST_WEIGHTS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let killedStdout = '';
    child.stdout.on('data', (d: Buffer) => (killedStdout += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const runId = await waitForCheckpoint(dataDir, 3, 90_000);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const manifest = JSON.parse(readFileSync(path.join(dataDir, 'runs', runId, MANIFEST_FILE), 'utf8')) as { progress: { iteration: number; totalIterations: number } };
    const at = manifest.progress.iteration;
    expect(at).toBeGreaterThanOrEqual(3);
    expect(at).toBeLessThan(ITERATIONS);
    expect(existsSync(output)).toBe(false);
    expect(jsonLines(killedStdout).some((l) => l.done === true)).toBe(false);

    const listed = await runNst(['runs'], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${runId}\\s+${at}/${ITERATIONS}\\s+\\S+ \\S+\\s+interrupted\\s+${output.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));

    const resumed = await runNst(['resume', runId, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    // The killed run's lock names a process that is gone: taken over, said in one line, then the resumption.
    expect(resumed.stderr).toMatch(new RegExp(`^nst: run ${runId}: its owner, process ${child.pid} \\(nst stylize, since [^)]*\\), is gone \\(exited\\); taking it over\\.\\nnst: resuming run ${runId} at iteration ${at} of ${ITERATIONS}, from its checkpoint of `));
    // The checkpoint names its weights and they are the same: no warning.
    expect(resumed.stderr).not.toMatch(/which weights/);
    const lines = jsonLines(resumed.stdout);
    // The resumed run reports the iterations after the checkpoint, numbered as the uninterrupted run numbers them.
    expect(lines[0]).toMatchObject({ iteration: at + 1 });
    const done = lines.at(-1)!;
    expect(done).toMatchObject({ done: true, output, runId, iterations: ITERATIONS, stopped: false });
    expect(existsSync(output)).toBe(true);

    const whole = await reference;
    expect(whole.code, whole.stderr).toBe(0);
    const uninterrupted = jsonLines(whole.stdout).at(-1)!;
    expect(uninterrupted).toMatchObject({ done: true, iterations: ITERATIONS });
    expect(uninterrupted.runId).toBeUndefined();
    const relative = ((done.finalLoss as number) - (uninterrupted.finalLoss as number)) / (uninterrupted.finalLoss as number);
    console.log(`[resume] killed at iteration ${at}; final loss ${done.finalLoss} resumed vs ${uninterrupted.finalLoss} uninterrupted (${(100 * relative).toFixed(4)}%)`);
    expect(relative).toBeLessThan(0.01);
    expect(done.initialLoss).toBe(uninterrupted.initialLoss);

    // The input was only ever read; a finished run leaves nothing to resume.
    expect(readFileSync(content).equals(contentBefore.bytes)).toBe(true);
    expect(statSync(content).mtimeMs).toBe(contentBefore.mtimeMs);
    expect(readdirSync(path.join(dataDir, 'runs'))).toEqual([]);
    expect((await runNst(['runs'], { env })).stderr).toMatch(/^nst: no runs to resume in /);
  }, 180_000);
});

describe.skipIf(!present)('Ctrl-C keeps a checkpoint of a stopped run, and nst resume finishes it', () => {
  it('stops with the image so far and "finish it with: nst resume" (exit 130), lists it as stopped, then resumes to the full count', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-resume-int-'));
    const dataDir = path.join(dir, 'data');
    const env = { NST_DATA_DIR: dataDir };
    const output = path.join(dir, 'out.png');
    // Checkpoints every 60 s (the default) never come: what is kept is the snapshot taken at the stop.
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/nst.js'), ...stylizeArgs(sharedPath(...CONTENT), output, [])], { cwd: REPO_ROOT, env: { ...process.env, NST_WEIGHTS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 90_000;
    while (!jsonLines(stdout).some((l) => (l.iteration as number) >= 3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const stopped = new RegExp(String.raw`nst: stopped at iteration (\d+) of ${ITERATIONS} \(SIGINT\); the image so far is in \S+; its checkpoint is in \S+; finish it with: nst resume (\S+)\n`).exec(stderr);
    expect(stopped, stderr).not.toBeNull();
    const [, at, runId] = stopped!;
    expect(jsonLines(stdout).at(-1)).toMatchObject({ done: true, stopped: true, iterations: Number(at), runId });
    expect(existsSync(output)).toBe(true);
    expect((await runNst(['runs'], { env })).stdout).toMatch(new RegExp(`^${runId}\\s+${at}/${ITERATIONS}\\s+\\S+ \\S+\\s+stopped\\s`, 'm'));
    const resumed = await runNst(['resume', runId!, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/ \(it was stopped\), from its checkpoint of /);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ done: true, iterations: ITERATIONS, stopped: false, runId });
    expect(readdirSync(path.join(dataDir, 'runs'))).toEqual([]);
  }, 180_000);
});

describe.skipIf(!present)('nst resume and the weights a run was made with (real uint8 VGG19, 32 px)', () => {
  it('refuses other weights at the run\'s weights path, naming both; an older checkpoint that names none resumes with a warning', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-resume-weights-'));
    const env = { NST_DATA_DIR: path.join(dir, 'data') };
    const weightsDir = path.join(dir, 'weights');
    cpSync(sharedPath(...WEIGHTS), weightsDir, { recursive: true });
    const made = weightsFingerprint(await loadWeights(weightsDir));
    const output = path.join(dir, 'out.png');
    const args = ['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', output, '--weights', weightsDir, '--size', '32', '--iterations', '12', '--device', 'cpu', '--threads', '1', '--json'];
    // Stopped with Ctrl-C after its first iteration: the stopped run keeps its checkpoint.
    const child = spawnNst(args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 90_000;
    while (!jsonLines(stdout).some((l) => (l.iteration as number) >= 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const runId = /finish it with: nst resume (\S+)\n/.exec(stderr)?.[1];
    expect(runId, stderr).toBeDefined();
    const manifestPath = path.join(env.NST_DATA_DIR, 'runs', runId!, MANIFEST_FILE);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { generation: number; weights?: unknown };
    expect(manifest.weights).toEqual(made);

    // The weights at that path change (one quantized value of block1_conv1): the resume is refused, naming both.
    const shard = path.join(weightsDir, 'group1-shard1of20.bin');
    const original = readFileSync(shard);
    const edited = Buffer.from(original);
    edited[100]! ^= 0x01;
    writeFileSync(shard, edited);
    const now = weightsFingerprint(await loadWeights(weightsDir));
    expect(now.sha256).not.toBe(made.sha256);
    const refused = await runNst(['resume', runId!], { env });
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr.split('\n').at(-2)).toBe(
      `nst: Run ${runId} cannot be resumed with these weights: it was made with ${describeFingerprint(made)}, not ${describeFingerprint(now)}, and its image and optimizer state belong to that network. ` +
        `It loads its weights from ${weightsDir}: put those weights back there and run \`nst resume ${runId}\` again, or delete the run (\`nst runs --remove ${runId}\`) and start it afresh.`,
    );
    // The checkpoint is as it was, and still offered.
    expect((JSON.parse(readFileSync(manifestPath, 'utf8')) as { generation: number }).generation).toBe(manifest.generation);
    expect((await runNst(['runs'], { env })).stdout).toMatch(new RegExp(`^${runId}\\s+\\d+/12\\s+\\S+ \\S+\\s+stopped\\s`, 'm'));

    // The weights put back, and the manifest made as an nst before fingerprints wrote it: resumed, with a warning.
    writeFileSync(shard, original);
    const older = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    delete older.weights;
    writeFileSync(manifestPath, JSON.stringify(older));
    const resumed = await runNst(['resume', runId!, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`nst: Run ${runId}'s checkpoint does not say which weights it was made with (an older nst wrote it): it goes on with ${describeFingerprint(made)}.\n`);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ done: true, iterations: 12, stopped: false, runId });
  }, 180_000);
});

/** A checkpoint of a stylize job, written without running anything: for the refusals. */
async function fakeRun(dataDir: string, job: unknown, options: { live?: boolean } = {}): Promise<string> {
  const runId = newRunId();
  const state: RenderState = {
    plan: { mode: 'whole', sizePx: 64, estimateBytes: 1 },
    phase: 'scale',
    stage: { index: 0, iterationsBefore: 0, run: { iteration: 1, image: new Float32Array(3), optimizer: { name: 'lbfgs', iteration: 1, buffers: {}, scalars: {} }, objectiveScale: 1, carried: null, initialLoss: null, weights: null } },
  };
  const writer = new CheckpointWriter({ runId, root: dataDir, everyMs: 0, job, totalIterations: () => 10 });
  writer.save(state);
  // Closed, the run is nobody's; a live one is this (live) test process's, as a running nst's would be.
  await writer.close();
  if (options.live) await takeRun(runId, { root: dataDir, command: `nst resume ${runId}` });
  return runId;
}

describe('nst resume refuses', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nst-resume-refuse-'));
  const env = { NST_DATA_DIR: dataDir };

  it('an unknown run id (exit 3) and one that is a path (exit 2)', async () => {
    const unknown = await runNst(['resume', '20260101-000000-beef'], { env });
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toBe(`nst: No run 20260101-000000-beef in ${path.join(dataDir, 'runs')}: \`nst runs\` lists the runs that can be resumed.\n`);
    const traversal = await runNst(['resume', '../weights'], { env });
    expect(traversal.code).toBe(2);
    expect(traversal.stderr).toMatch(/^nst: "\.\.\/weights" is not a run id/);
  });

  it('a run whose input image changed since it started, and a job that is not a stylize run', async () => {
    const content = path.join(dataDir, 'content.png');
    await writeFile(content, 'original bytes');
    const job = { kind: 'nst-stylize', contentPath: content, stylePaths: [content], options: { output: path.join(dataDir, 'o.png') }, inputs: [{ path: content, sha256: 'f'.repeat(64) }] };
    const changed = await runNst(['resume', await fakeRun(dataDir, job)], { env });
    expect(changed.code).toBe(3);
    expect(changed.stderr).toMatch(new RegExp(`cannot be resumed: its input image ${content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has changed since the run started\\.\\n$`));
    const studio = await runNst(['resume', await fakeRun(dataDir, { kind: 'studio-run' })], { env });
    expect(studio.code).toBe(3);
    expect(studio.stderr).toMatch(/cannot be resumed: it is a "studio-run" job, not an `nst stylize` run/);
  });

  it('a job that is malformed, naming the field and what it must be (exit 3)', async () => {
    const content = path.join(dataDir, 'content.png');
    await writeFile(content, 'original bytes');
    const good = { kind: 'nst-stylize', contentPath: content, stylePaths: [content], options: { output: path.join(dataDir, 'o.png') }, inputs: [{ path: content, sha256: 'f'.repeat(64) }] };
    const cases: [unknown, string][] = [
      [null, 'its job must be an object (got null).'],
      [{ ...good, stylePaths: ['style.png'] }, 'its job.stylePaths.0 must be an absolute path (got "style.png").'],
      [{ ...good, options: undefined }, 'its job.options is missing.'],
      [{ ...good, options: { iterations: 300 } }, 'its job.options.iterations must be text or true/false (got 300).'],
      [{ ...good, inputs: [{ path: content, sha256: 'not a digest' }] }, 'its job.inputs.0.sha256 must be a SHA-256 in hex (got "not a digest").'],
    ];
    for (const [job, why] of cases) {
      const runId = await fakeRun(dataDir, job);
      const refused = await runNst(['resume', runId], { env });
      expect(refused.code, JSON.stringify(job)).toBe(3);
      expect(refused.stderr).toBe(`nst: Run ${runId} cannot be resumed: ${why}\n`);
    }
  });

  it('a run whose process is still alive (exit 10, naming it), which `nst runs` shows as running', async () => {
    const runId = await fakeRun(dataDir, { kind: 'nst-stylize' }, { live: true });
    const refused = await runNst(['resume', runId], { env });
    expect(refused.code).toBe(10);
    expect(refused.stderr).toMatch(new RegExp(`^nst: Run ${runId} is in use by nst in process ${process.pid} \\(nst resume ${runId}, since [^)]+ UTC\\): let it finish, or stop that nst; if it is stuck, run it again with --force to take it over\\.\\n$`));
    expect((await runNst(['runs'], { env })).stdout).toMatch(new RegExp(`^${runId}\\s+1/10\\s+\\S+ \\S+\\s+running \\(pid ${process.pid}\\)`, 'm'));
    expect((await runNst(['runs', '--remove', runId], { env })).code).toBe(10);
    await rm(path.join(dataDir, 'runs', runId), { recursive: true });
  });

  it('a torn first checkpoint (no manifest) is refused, then swept by `nst runs`; a damaged manifest is listed with its problem', async () => {
    const runId = newRunId();
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(dataDir, 'runs', runId), { recursive: true }));
    const torn = await runNst(['resume', runId], { env });
    expect(torn.code).toBe(3);
    expect(torn.stderr).toMatch(/holds no checkpoint\.json \(the run stopped before its first checkpoint was complete\)/);
    // Nothing to resume and nobody owns it: debris, not a run that cannot be resumed.
    expect((await runNst(['runs'], { env })).stdout).not.toMatch(new RegExp(runId));
    expect(existsSync(path.join(dataDir, 'runs', runId))).toBe(false);

    const damaged = newRunId();
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(dataDir, 'runs', damaged), { recursive: true }));
    await writeFile(path.join(dataDir, 'runs', damaged, MANIFEST_FILE), '{"format":');
    const listed = await runNst(['runs'], { env });
    expect(listed.stdout).toMatch(new RegExp(`^${damaged}\\s+-\\s+-\\s+cannot be resumed: ${MANIFEST_FILE.replace('.', '\\.')} is not valid JSON`, 'm'));
    const removed = await runNst(['runs', '--remove', damaged], { env });
    expect(removed.code).toBe(0);
    expect(existsSync(path.join(dataDir, 'runs', damaged))).toBe(false);
  });

  it('a negative --checkpoint-every, before any image is read', async () => {
    const args = ['stylize', 'a.png', 'b.png', '-o', path.join(dataDir, 'x.png')];
    const negative = await runNst([...args, '--checkpoint-every', '-1'], { env });
    expect(negative.code).toBe(2);
    expect(negative.stderr).toBe('nst: --checkpoint-every: -1 is out of range: use a number from 0 to 86400.\n');
  });
});
