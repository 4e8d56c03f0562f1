// What a killed run leaves is swept by the next, and a run leaves nothing of its own (issue 13, class 5): temp files
// of dead writers beside an output, temp frame spools and palettes of dead runs go; a killed --video run is
// resumable, its frames kept with its checkpoint; onnxruntime leaves nothing in the temp or home folder. Real
// processes, 32 px.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/engine/persist/checkpoint.js';
import { jsonLines, runNst, spawnNst } from '../helpers/cli.js';
import { hasShared, sharedPath } from '../helpers/shared-data.js';

const WEIGHTS = ['data', 'vgg19-imagenet-block1-3'] as const;
const CONTENT = ['data', 'images', 'content_tubingen_64.png'] as const;
const STYLE = ['data', 'images', 'style_starry_night_64.png'] as const;
const present = hasShared(...WEIGHTS) && hasShared(...CONTENT) && hasShared(...STYLE);

const LAYERS = ['--style-layers', 'block1_conv1,block2_conv1,block3_conv1', '--content-layers', 'block3_conv2'];
const RUN = ['--weights', sharedPath(...WEIGHTS), '--size', '32', '--device', 'cpu', '--threads', '1', '--stop', 'off', ...LAYERS];

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function workspace(): { dir: string; data: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nst-debris-'));
  made.push(dir);
  const data = path.join(dir, 'data');
  return { dir, data, env: { NST_DATA_DIR: data, TMPDIR: dir } };
}

/** The pid of a process that has exited: what a killed writer's temp files are named for. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe.skipIf(!present)('a run sweeps what killed runs left, and leaves nothing of its own', () => {
  it('temp files of dead writers beside -o and in --frames-dir go (only those of its own names); onnxruntime writes no telemetry files', async () => {
    const { dir, env } = workspace();
    const output = path.join(dir, 'out.png');
    const frames = path.join(dir, 'frames');
    mkdirSync(frames);
    const dead = await deadPid();
    // The output folder's write check's own probe, too (a check killed between making and removing it).
    const debris = [`.out.png.${dead}.0badc0de.tmp`, path.join('frames', `.frame_000002.png.${dead}.0badc0de.tmp`), `.nst-write-check.${dead}.0badc0de.tmp`];
    // Kept: a live writer's temp file, a dead writer's of another file, and a file that only looks like one.
    const kept = [`.out.png.${process.pid}.0badc0de.tmp`, `.other.png.${dead}.0badc0de.tmp`, `.out.png.${dead}.tmp`];
    for (const name of [...debris, ...kept]) writeFileSync(path.join(dir, name), 'partial');
    const home = path.join(dir, 'home');
    mkdirSync(home);
    const started = Date.now();
    // Without the suite's own ORT_DISABLE_TELEMETRY (vitest.config.ts): nst must turn the telemetry off itself.
    const child = spawnNst(['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', output, '--iterations', '2', ...RUN, '--save-every', '1', '--frames-dir', frames, '--checkpoint-every', '0'], { env: { ...env, HOME: home, ORT_DISABLE_TELEMETRY: undefined } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    for (const name of debris) expect(existsSync(path.join(dir, name)), name).toBe(false);
    for (const name of kept) expect(existsSync(path.join(dir, name)), name).toBe(true);
    expect(readdirSync(frames).sort()).toEqual(['frame_000001.png', 'frame_000002.png']);
    // onnxruntime 1.30's telemetry: a mat-debug-PID.log and a .ses in /tmp, an event database in ~/.cache/Microsoft.
    // In the shared /tmp only a file made since the spawn counts: an older one is another process's of the same pid.
    const madeByChild = (file: string): boolean => existsSync(file) && statSync(file).mtimeMs >= started - 1000;
    for (const tmp of [dir, '/tmp']) expect(madeByChild(path.join(tmp, `mat-debug-${child.pid}.log`)), tmp).toBe(false);
    expect(readdirSync(home)).toEqual([]);
    expect(existsSync(path.join(dir, '.ses'))).toBe(false);
  }, 30_000);

  it('kill -9 of a --video run leaves its frames with its checkpoint, not in the temp folder; nst resume makes the whole video and removes both', async () => {
    const { dir, data, env } = workspace();
    const output = path.join(dir, 'out.png');
    const video = path.join(dir, 'out.gif');
    const child = spawnNst(['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', output, '--iterations', '200', ...RUN, '--video', video, '--frame-every', '20', '--checkpoint-every', '0.001', '--json'], { env });
    child.stdout.resume();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    const runs = path.join(data, 'runs');
    const checkpointAt = (): number => {
      for (const id of existsSync(runs) ? readdirSync(runs) : []) {
        const manifest = path.join(runs, id, MANIFEST_FILE);
        if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { progress: { iteration: number } }).progress.iteration;
      }
      return -1;
    };
    const deadline = Date.now() + 45_000;
    while (checkpointAt() < 12 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(readdirSync(dir).filter((n) => n.startsWith('nst-'))).toEqual([]);
    const [runId] = readdirSync(runs);
    const spool = path.join(data, 'run-frames', runId!);
    expect(readdirSync(spool)).toContain('frames.jsonl');

    const resumed = await runNst(['resume', runId!, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    // Every 20th iteration from 0 to 200, each once: the frames from before the kill and those after the resume.
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ done: true, iterations: 200, video: { output: video, capturedFrames: 11 } });
    expect(existsSync(video)).toBe(true);
    expect(existsSync(spool)).toBe(false);
    expect(readdirSync(runs)).toEqual([]);
    expect(readdirSync(dir).filter((n) => n.startsWith('nst-') || n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('a run killed before its first checkpoint was whole (no manifest, its owner gone) is swept with its spool by nst runs, and by the next run', async () => {
    const { dir, data, env } = workspace();
    const dead = await deadPid();
    const runs = path.join(data, 'runs');
    const killedRun = (runId: string): void => {
      mkdirSync(path.join(runs, runId), { recursive: true });
      writeFileSync(path.join(runs, runId, 'owner.pid'), `${dead}\n`);
      writeFileSync(path.join(runs, runId, `.checkpoint.json.${dead}.0badc0de.tmp`), 'partial');
      mkdirSync(path.join(data, 'run-frames', runId), { recursive: true });
      writeFileSync(path.join(data, 'run-frames', runId, 'frames.jsonl'), '');
    };
    killedRun('20261207-142731-5b12');
    const listed = await runNst(['runs', '--json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(jsonLines(listed.stdout)).toEqual([]);
    expect(readdirSync(runs)).toEqual([]);
    expect(readdirSync(path.join(data, 'run-frames'))).toEqual([]);

    killedRun('20261207-142805-a574');
    const next = await runNst(['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', path.join(dir, 'out.png'), '--iterations', '2', ...RUN, '--checkpoint-every', '60', '--json'], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(readdirSync(runs)).toEqual([]);
    expect(readdirSync(path.join(data, 'run-frames'))).toEqual([]);
  }, 30_000);

  it('a --video run owns its run folder before it spools a frame: killed before its first checkpoint, it leaves nothing nst runs lists or keeps', async () => {
    const { dir, data, env } = workspace();
    const child = spawnNst(['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', path.join(dir, 'out.png'), '--iterations', '400', ...RUN, '--video', path.join(dir, 'out.gif'), '--frame-every', '1', '--checkpoint-every', '600', '--json'], { env });
    child.stdout.resume();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    const spools = path.join(data, 'run-frames');
    const deadline = Date.now() + 30_000;
    while (!(existsSync(spools) && readdirSync(spools).length > 0) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    const [runId] = existsSync(spools) ? readdirSync(spools) : [];
    // The spool's run folder is there, with its owner, from before the spool.
    const owned = runId !== undefined && existsSync(path.join(data, 'runs', runId, 'owner.pid'));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(runId).toBeDefined();
    expect(owned).toBe(true);
    expect(existsSync(path.join(data, 'runs', runId!, MANIFEST_FILE))).toBe(false);
    const listed = await runNst(['runs', '--json'], { env });
    expect(jsonLines(listed.stdout)).toEqual([]);
    expect(readdirSync(path.join(data, 'runs'))).toEqual([]);
    expect(readdirSync(spools)).toEqual([]);
  }, 60_000);

  it('a --video run that is not checkpointed spools in the temp folder, under its pid: spools and palettes of dead runs go, live ones stay', async () => {
    const { dir, env } = workspace();
    const dead = await deadPid();
    const stale = [`nst-frames-${dead}-AbC123`, `nst-palette-${dead}-AbC123`];
    const live = [`nst-frames-${process.pid}-AbC123`, 'nst-frames-AbC123'];
    for (const name of [...stale, ...live]) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'frame_000000.png'), 'x');
    }
    const result = await runNst(['stylize', sharedPath(...CONTENT), sharedPath(...STYLE), '-o', path.join(dir, 'out.png'), '--iterations', '2', ...RUN, '--video', path.join(dir, 'out.gif'), '--checkpoint-every', '0'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(dir).filter((n) => n.startsWith('nst-')).sort()).toEqual([...live].sort());
  }, 30_000);
});
