// One onnxruntime-node session in a child process: created on exactly one provider, run a few times and timed. The
// child's stderr (Dawn's and the drivers' native lines) is captured, never passed on: a failure comes back as one line.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { OnnxModel } from '../graph/builder.js';
import { summariseOrtError } from './ort-error.js';
import type { Device } from './runtime.js';

/** A graph input the child fills: the image with pixel-like values, everything else (targets, weights) with `value`. */
export interface ChildFeed {
  readonly name: string;
  readonly dims: readonly number[];
  readonly value: number | 'pixels';
}

export interface OrtChildRequest {
  readonly device: Device;
  readonly feeds: readonly ChildFeed[];
  /** Untimed runs first (arenas, kernel choice, shader compilation). */
  readonly warmups: number;
  readonly runs: number;
  /** Intra-op threads; 0 lets onnxruntime decide, as a run does by default. */
  readonly threads: number;
}

export type OrtChildResult =
  | { readonly ok: true; readonly createMs: number; readonly runMs: readonly number[] }
  | { readonly ok: false; readonly reason: string };

export interface OrtChildOptions {
  /** Added to the child's environment (the parent's is inherited). */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/**
 * Whether a plain Node child can be started from this process. In the packaged studio process.execPath is the
 * Electron app itself, whose RunAsNode fuse is off: spawning it would open a second app, so there the caller
 * works in-process instead.
 */
export function canSpawnNodeChild(): boolean {
  return process.versions.electron === undefined;
}

/**
 * The child, as CommonJS source for `node -e`: a string rather than a file so that it runs the same from the CLI
 * bundle, the browser host's bundle and the sources under tsx. The model comes on stdin, one JSON line goes out.
 */
const CHILD_SOURCE = `
const request = JSON.parse(process.argv[1]);
// stdin: the protobuf, then each external initializer's bytes, in request.external's order.
const split = (all) => {
  let at = all.length - request.external.reduce((sum, e) => sum + e.length, 0);
  const bytes = all.subarray(0, at);
  const externalData = request.external.map((e) => ({ path: e.path, data: all.subarray(at, (at += e.length)) }));
  return { bytes, externalData };
};
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n', () => process.exit(0));
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  try {
    const ort = require(request.ortPath);
    ort.env.logLevel = 'fatal';
    const started = performance.now();
    const model = split(Buffer.concat(chunks));
    const session = await ort.InferenceSession.create(model.bytes, {
      externalData: model.externalData, executionProviders: [request.device], graphOptimizationLevel: 'all', intraOpNumThreads: request.threads,
      interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 4,
      enableMemPattern: false, // as runtime/onnxruntime.ts's sessions, so a measured device runs as a run would
    });
    const createMs = performance.now() - started;
    const feeds = {};
    for (const f of request.feeds) {
      const data = new Float32Array(f.dims.reduce((a, b) => a * b, 1));
      if (f.value === 'pixels') for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256;
      else data.fill(f.value);
      feeds[f.name] = new ort.Tensor('float32', data, f.dims);
    }
    const runMs = [];
    for (let i = 0; i < request.warmups + request.runs; i++) {
      const t = performance.now();
      await session.run(feeds);
      if (i >= request.warmups) runMs.push(performance.now() - t);
    }
    await session.release();
    say({ ok: true, createMs, runMs });
  } catch (error) {
    say({ ok: false, error: String((error && error.message) || error) });
  }
});
`;

/**
 * Runs `model` on `request.device` alone in a child (no fallback to another provider), with a Node that can load
 * onnxruntime-node. Never rejects: a child that fails, crashes or times out gives { ok: false, reason } in one line.
 */
export function runInOrtChild(model: OnnxModel, request: OrtChildRequest, options: OrtChildOptions = {}): Promise<OrtChildResult> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const external = model.external.map((e) => ({ path: e.path, length: e.data.byteLength }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', CHILD_SOURCE, JSON.stringify({ ...request, ortPath, external })], {
      env: { ...process.env, ...vulkanQuietEnv(process.env), ...telemetryOffEnv(process.env), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
      windowsHide: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // Kept only to say why a child died without a word of its own.
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdin.on('error', () => {}); // a child that died early closes its stdin under us; its exit says why
    child.on('error', (error) => resolve({ ok: false, reason: `could not start a measuring process (${error.message})` }));
    child.on('close', (code, signal) => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        const report = JSON.parse(line) as { ok: true; createMs: number; runMs: number[] } | { ok: false; error: string };
        resolve(report.ok ? { ok: true, createMs: report.createMs, runMs: report.runMs } : { ok: false, reason: summariseOrtError(report.error) });
        return;
      }
      const last = stderr.trim().split('\n').filter((l) => l.trim() !== '').pop();
      const how = signal === 'SIGTERM' ? `took over ${Math.round(timeoutMs / 1000)} s` : signal ? `crashed (${signal})` : `exited with ${code}`;
      resolve({ ok: false, reason: `${request.device} ${how}${last ? `: ${summariseOrtError(last)}` : ''}` });
    });
    for (const part of [model.bytes, ...model.external.map((e) => e.data)]) child.stdin.write(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
    child.stdin.end();
  });
}

/**
 * onnxruntime-node 1.30's Linux and macOS libraries start Microsoft's 1DS telemetry when onnxruntime starts: every
 * process leaves a `mat-debug-PID.log` and a `.ses` file in the temp folder (never removed), keeps an event
 * database under ~/.cache/Microsoft and sends usage events. ORT_DISABLE_TELEMETRY=1 turns all of it off; a value
 * the user set stays.
 */
export function telemetryOffEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.ORT_DISABLE_TELEMETRY === undefined ? { ORT_DISABLE_TELEMETRY: '1' } : {};
}

/**
 * Turns onnxruntime's telemetry off for this process (telemetryOffEnv), before onnxruntime-node is loaded. Native
 * code reads the process's real environment, which only the main thread's process.env writes: a front end that
 * loads onnxruntime in a worker thread calls this on its main thread before starting the worker.
 */
export function turnOffOnnxruntimeTelemetry(): void {
  Object.assign(process.env, telemetryOffEnv(process.env));
}

/**
 * Vulkan drivers (SwiftShader, Mesa) print "XDG_RUNTIME_DIR is invalid or not set" when Dawn starts on a machine
 * without a login session (a server, CI); any writable folder quiets them.
 */
export function vulkanQuietEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.XDG_RUNTIME_DIR ? {} : { XDG_RUNTIME_DIR: os.tmpdir() };
}
