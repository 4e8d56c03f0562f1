// Evaluates the tiny random-VGG objective once on a given device/backend in its own process, for tests that
// need environment set before onnxruntime starts (WebGPU's Vulkan loader reads VK_ICD_FILENAMES at init).
//
//   node --import tsx tests/helpers/evaluate-on-device.ts '{"device":"webgpu","backend":"node","pool":"max","gradPath":"/tmp/g.npy"}'
//
// Prints one JSON line (EvaluationReport) on stdout; the gradient goes to `gradPath` as a .npy.

import { StyleObjective, type LossBreakdown } from '../../src/engine/model/objective.js';
import type { RuntimeBackend } from '../../src/engine/model/runtime/runtime.js';
import { objectiveShape, resolveExecution } from '../../src/engine/render/execution.js';
import type { DeviceRequest } from '../../src/engine/settings.js';
import type { PoolKind } from '../../src/engine/settings.js';
import { randomVgg19Weights } from '../../src/engine/weights/random.js';
import { randomImage } from './random-image.js';
import { readNpyFloat32, writeNpyFloat32 } from '../../src/engine/io/npy.js';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface EvaluationRequest {
  readonly device: DeviceRequest;
  readonly backend: RuntimeBackend;
  readonly pool: PoolKind;
  /** Where to write the gradient (.npy, shape [1, 3, H, W]). */
  readonly gradPath: string;
  /** Timed evaluations after the first (warm-up) one; default 2. */
  readonly repeats?: number;
}

export interface EvaluationReport {
  /** The device that actually ran the graph, and why it is not the one requested (null when it is). */
  readonly device: string;
  readonly fallbackReason: string | null;
  readonly loss: LossBreakdown;
  readonly createMs: number;
  readonly firstMs: number;
  /** Median of the timed evaluations after the first. */
  readonly evaluateMs: number;
  readonly shape: number[];
}

// The tiny graph: channels at 1/16 of VGG19's, a two-level pyramid, terms at both ends of the stack.
export const TINY = {
  width: 24,
  height: 20,
  styleLayers: ['block1_conv1', 'block3_conv1'],
  contentLayers: ['block2_conv2'],
  styleWeight: 1,
  contentWeight: 1,
  tvWeight: 5,
} as const;

export async function evaluateOnDevice(request: EvaluationRequest): Promise<EvaluationReport> {
  const started = performance.now();
  const styleImages = [randomImage(28, 22, 2)];
  const objective = await StyleObjective.create({
    ...TINY,
    weights: randomVgg19Weights({ seed: 7, channelScale: 1 / 16, depth: 5 }),
    pool: request.pool,
    styleImages,
    contentImage: randomImage(TINY.width, TINY.height, 4),
    execution: resolveExecution({ device: request.device, backend: request.backend, threads: 1 }, objectiveShape(TINY, { ...TINY, pool: request.pool }, styleImages)),
  });
  try {
    const createMs = performance.now() - started;
    const x = randomImage(TINY.width, TINY.height, 11).data;
    const grad = new Float32Array(x.length);
    let t = performance.now();
    const loss = await objective.evaluate(x, grad);
    const firstMs = performance.now() - t;
    const times: number[] = [];
    const again = new Float32Array(x.length);
    for (let i = 0; i < (request.repeats ?? 2); i++) {
      t = performance.now();
      await objective.evaluate(x, again);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const shape = [1, 3, TINY.height, TINY.width];
    await writeNpyFloat32(request.gradPath, grad, shape);
    return {
      device: objective.device,
      fallbackReason: objective.fallbackReason,
      loss,
      createMs,
      firstMs,
      evaluateMs: times.length > 0 ? times[Math.floor(times.length / 2)]! : firstMs,
      shape,
    };
  } finally {
    await objective.dispose();
  }
}

export interface Evaluation {
  readonly report: EvaluationReport;
  readonly grad: Float32Array;
  /** What a child evaluation wrote to stderr (native runtime lines would show here); '' in this process. */
  readonly stderr: string;
}

/** Runs this file as a script in a fresh `node --import tsx` with `env` added; rejects with its stderr. */
export async function evaluateInChild(
  request: Omit<EvaluationRequest, 'gradPath'>,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 90_000,
): Promise<Evaluation> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nst-device-'));
  const gradPath = path.join(dir, 'grad.npy');
  const script = fileURLToPath(import.meta.url);
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify({ ...request, gradPath })], {
        cwd: path.resolve(path.dirname(script), '../..'),
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: timeoutMs,
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (exitCode, signal) => resolve({ code: exitCode ?? -1, stdout: out, stderr: signal ? `killed by ${signal} after ${timeoutMs} ms\n${err}` : err }));
    });
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    if (code !== 0 || !line) throw new Error(`evaluate-on-device exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    const report = JSON.parse(line) as EvaluationReport;
    return { report, grad: (await readNpyFloat32(gradPath)).data, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** In this process: the same evaluation, for the reference side of a comparison. */
export async function evaluateHere(request: Omit<EvaluationRequest, 'gradPath'>): Promise<Evaluation> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nst-device-'));
  try {
    const gradPath = path.join(dir, 'grad.npy');
    const report = await evaluateOnDevice({ ...request, gradPath });
    return { report, grad: (await readNpyFloat32(gradPath)).data, stderr: '' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Differences {
  /** max over loss terms (total, each style and content layer, tv) of |a/b − 1|. */
  readonly lossRelative: number;
  /** ‖a − b‖₂ / ‖b‖₂ over the gradient. */
  readonly gradRelativeL2: number;
  /** max |a − b| over the gradient, divided by max |b|. */
  readonly gradMaxRelative: number;
}

/** How far evaluation `a` is from the reference `b`. */
export function differences(a: Evaluation, b: Evaluation): Differences {
  const terms = (l: LossBreakdown): [string, number][] => [
    ['total', l.total],
    ['tv', l.tv],
    ...Object.entries(l.style).map(([k, v]): [string, number] => [`style ${k}`, v]),
    ...Object.entries(l.content).map(([k, v]): [string, number] => [`content ${k}`, v]),
  ];
  const reference = new Map(terms(b.report.loss));
  let lossRelative = 0;
  for (const [name, value] of terms(a.report.loss)) {
    const expected = reference.get(name);
    if (expected === undefined) throw new Error(`Loss term ${name} is missing from the reference.`);
    lossRelative = Math.max(lossRelative, Math.abs(value / expected - 1));
  }
  if (a.grad.length !== b.grad.length) throw new Error(`Gradients of ${a.grad.length} and ${b.grad.length} values cannot be compared.`);
  let diff2 = 0;
  let ref2 = 0;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < b.grad.length; i++) {
    const d = a.grad[i]! - b.grad[i]!;
    diff2 += d * d;
    ref2 += b.grad[i]! * b.grad[i]!;
    maxDiff = Math.max(maxDiff, Math.abs(d));
    maxRef = Math.max(maxRef, Math.abs(b.grad[i]!));
  }
  return { lossRelative, gradRelativeL2: Math.sqrt(diff2 / ref2), gradMaxRelative: maxDiff / maxRef };
}

// Run as a script: one request in argv[2], one report line out.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const request = JSON.parse(process.argv[2] ?? '{}') as EvaluationRequest;
  evaluateOnDevice(request).then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      // onnxruntime's WebGPU (Dawn) threads can keep the process alive after release.
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
