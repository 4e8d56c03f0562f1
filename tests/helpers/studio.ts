// Helpers for the studio's service tests: the TypeScript job worker, real fixture images, run settings, an
// event log that can be awaited.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MaskSet, RunEvent, StartRunRequest } from '../../src/shared/api.js';
import { DEFAULT_STUDIO_SETTINGS, LAYER_NAMES, type StudioSettings } from '../../src/shared/studio-settings.js';
import type { WorkerLocation } from '../../src/main/services/run-service.js';
import { REPO_ROOT, hasShared, sharedPath } from './shared-data.js';

/** The job worker's TypeScript source, loaded through tsx inside the worker thread. */
export function tsJobWorker(): WorkerLocation {
  return {
    url: pathToFileURL(path.join(REPO_ROOT, 'tests', 'helpers', 'ts-worker.mjs')),
    argv: [pathToFileURL(path.join(REPO_ROOT, 'src', 'main', 'worker', 'job-worker.ts')).href],
  };
}

export const WEIGHTS_DIR = sharedPath('data', 'vgg19-imagenet-uint8');

/** Whether real weights and the 64-px fixtures are here (each absent one is reported once). */
export function studioDataPresent(): boolean {
  const weights = hasShared('data', 'vgg19-imagenet-uint8');
  const content = hasShared('fixtures', 'content_tubingen_64x64.png');
  const style = hasShared('fixtures', 'style_starry_night_64x64.png');
  return weights && content && style;
}

export async function fixtureBytes(name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(sharedPath('fixtures', name)));
}

/** Layers with exactly these style and content layers on (style weight 1 each). */
export function layers(style: readonly string[], content: readonly string[]): StudioSettings['layers'] {
  return Object.fromEntries(LAYER_NAMES.map((name) => [name, { style: style.includes(name), styleWeight: 1, content: content.includes(name) }]));
}

/** Small, fast runs: 64 px, Adam (one evaluation per iteration), CPU, all their iterations (no adaptive stop). */
export function testSettings(overrides: Partial<StudioSettings> = {}): StudioSettings {
  return { ...structuredClone(DEFAULT_STUDIO_SETTINGS), sizePx: 64, iterations: 10, optimizer: 'adam', device: 'cpu', stop: 'off', ...overrides };
}

export async function tubingenStarryRequest(settings: StudioSettings): Promise<StartRunRequest> {
  return {
    content: { name: 'content_tubingen_64x64.png', bytes: await fixtureBytes('content_tubingen_64x64.png') },
    styles: [{ image: { name: 'style_starry_night_64x64.png', bytes: await fixtureBytes('style_starry_night_64x64.png') }, blend: 1 }],
    settings,
  };
}

export interface LoggedEvent {
  event: RunEvent;
  atMs: number;
}

/** Records every run event; waitFor resolves with the first (past or future) event matching. */
export class EventLog {
  readonly entries: LoggedEvent[] = [];
  private readonly waiters: { match: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }[] = [];
  readonly unsubscribe: () => void;

  constructor(source: { onRunEvent(listener: (event: RunEvent) => void): () => void }) {
    this.unsubscribe = source.onRunEvent((event) => this.push(event));
  }

  push(event: RunEvent): void {
    this.entries.push({ event, atMs: performance.now() });
    for (const waiter of [...this.waiters]) {
      if (waiter.match(event)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  }

  of(runId: string): RunEvent[] {
    return this.entries.filter((e) => e.event.runId === runId).map((e) => e.event);
  }

  waitFor(match: (e: RunEvent) => boolean, timeoutMs = 90_000, what = 'an event'): Promise<RunEvent> {
    const past = this.entries.find((e) => match(e.event));
    if (past) return Promise.resolve(past.event);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; saw: ${this.entries.map((e) => `${e.event.runId}:${e.event.type}`).join(', ')}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** The run's 'done' or 'error' event. */
  end(runId: string, timeoutMs?: number): Promise<RunEvent> {
    return this.waitFor((e) => e.runId === runId && (e.type === 'done' || e.type === 'error'), timeoutMs, `the end of ${runId}`);
  }

  next(runId: string, type: RunEvent['type'], predicate: (e: RunEvent) => boolean = () => true): Promise<RunEvent> {
    return this.waitFor((e) => e.runId === runId && e.type === type && predicate(e), undefined, `${type} of ${runId}`);
  }
}

/** One style mask at `width` × `height` painting rows [from, to) of it white (255), the rest black. */
export function rowsMask(width: number, height: number, from: number, to: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  mask.fill(255, from * width, to * width);
  return mask;
}

/** A MaskSet of one style mask: the top or the bottom half of a `width` × `height` image. */
export function halfMasks(half: 'top' | 'bottom', width = 64, height = 64): MaskSet {
  const middle = Math.floor(height / 2);
  return { width, height, styles: [half === 'top' ? rowsMask(width, height, 0, middle) : rowsMask(width, height, middle, height)], content: null };
}
