// The mask editor's frame times on a 2048 px photo: the studio on `npm run serve` (or the renderer alone with the
// fake host, --fake) in headless chromium, a long brush stroke driven one frame at a time (four pointer samples a
// frame, as a 240 Hz pen delivers them coalesced into 60 Hz events), and the time each frame took; then how long
// auto regions take on the same photo (whether it needs a worker: over 100 ms it would).
// Usage: npx tsx bench/mask-editor-fps.ts [--fake] [--size 2048] [--brush 128] [--frames 600] [--out bench/results]

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { launchChromium } from '../tests/renderer-e2e/helpers/browser.js';
import { startFakeStudio } from '../tests/renderer-e2e/helpers/fake-studio.js';
import { startStudioServer } from '../tests/renderer-e2e/helpers/studio-server.js';

const { values } = parseArgs({
  options: {
    fake: { type: 'boolean', default: false },
    size: { type: 'string', default: '2048' },
    brush: { type: 'string', default: '128' },
    frames: { type: 'string', default: '600' },
    content: { type: 'string', default: 'resources/examples/golden-gate.jpg' },
    styles: { type: 'string', default: 'resources/examples/great-wave.jpg,resources/examples/golden-gate.jpg' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const sizePx = Number(values.size);
const frames = Number(values.frames);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const dir = mkdtempSync(path.join(tmpdir(), 'nst-mask-fps-'));
const photo = path.join(dir, `photo-${sizePx}.jpg`);
await sharp(path.join(root, values.content!)).resize(sizePx, sizePx, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(photo);

const fake = values.fake ? await startFakeStudio({ width: 1440, height: 900 }) : null;
const server = fake ? null : await startStudioServer({ repoRoot: root, weights: null, timeoutMs: 600_000 });
const browser = fake ? fake.chromium : await launchChromium({ width: 1440, height: 900 });
try {
  const page = fake ? (await fake.open()).page : await browser.context.newPage();
  if (server) await page.goto(server.url);
  await page.getByTestId('content-input').setInputFiles(photo);
  await page.getByTestId('style-input').setInputFiles(values.styles!.split(',').map((s) => path.join(root, s)));
  await page.locator('details', { has: page.getByTestId('mask-panel') }).evaluate((d: HTMLDetailsElement) => {
    d.open = true;
  });
  await page.getByTestId('mask-brush-size').fill(values.brush!);
  await page.getByTestId('mask-edit').click();
  await page.waitForFunction((px) => document.querySelector<HTMLCanvasElement>('[data-testid="mask-overlay"]')?.width === px, sizePx);
  await page.waitForTimeout(1000);

  // tsx keeps function names with a __name helper the page lacks: give it one (a string, which tsx leaves alone).
  await page.evaluate('window.__name = (f) => f');
  // In the page: each animation frame sends the next four samples of a zig-zag across the photo as pointer events,
  // timing the handlers; the frame-to-frame times include the overlay's redraw of its dirty rectangle.
  const result = await page.evaluate(async (count) => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="mask-overlay"]')!;
    const box = canvas.getBoundingClientRect();
    const point = (t: number): [number, number] => {
      const x = 0.05 + 0.9 * Math.abs(((t * 6) % 2) - 1);
      const y = 0.05 + 0.9 * t;
      return [box.left + x * box.width, box.top + y * box.height];
    };
    const send = (type: string, [clientX, clientY]: [number, number]): void => {
      canvas.dispatchEvent(new PointerEvent(type, { clientX, clientY, pointerId: 7, pointerType: 'pen', pressure: 1, button: 0, buttons: 1, bubbles: true }));
    };
    const intervals: number[] = [];
    const handlerMs: number[] = [];
    const paintMs: number[] = [];
    send('pointerdown', point(0));
    let last = await new Promise<number>((r) => requestAnimationFrame(r));
    for (let f = 1; f <= count; f++) {
      const t0 = performance.now();
      for (let s = 1; s <= 4; s++) send('pointermove', point((f - 1 + s / 4) / count));
      handlerMs.push(performance.now() - t0);
      // The overlay's redraw runs first among this frame's callbacks (it was asked for first): the time from the
      // frame's start to this callback is its cost.
      const [now, entered] = await new Promise<[number, number]>((r) => requestAnimationFrame((t) => r([t, performance.now()])));
      paintMs.push(entered - now);
      intervals.push(now - last);
      last = now;
    }
    send('pointerup', point(1));
    return { intervals, handlerMs, paintMs, canvas: { width: canvas.width, height: canvas.height }, displayed: { width: Math.round(box.width), height: Math.round(box.height) } };
  }, frames);

  const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);
  const pct = (a: number[], p: number): number => sorted(a)[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]!;
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  const over = result.intervals.filter((v) => v > 1000 / 60 + 2).length;

  // Auto regions on the same photo: from the click to the overlay's redraw of the result, and the longest frame
  // meanwhile (the split runs in a worker; the page still copies the result in and redraws all of the overlay).
  const auto = await page.evaluate(async () => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="mask-overlay"]')!;
    const drawn = Number(canvas.dataset.drawn);
    const start = performance.now();
    let longest = 0;
    let last = start;
    document.querySelector<HTMLButtonElement>('[data-testid="mask-auto"]')!.click();
    while (!/^Split the photo/.test(document.querySelector('[data-testid="announcer"]')?.textContent ?? '') || Number(canvas.dataset.drawn) === drawn) {
      const now = await new Promise<number>((r) => requestAnimationFrame(r));
      longest = Math.max(longest, now - last);
      last = now;
      if (now - start > 60_000) throw new Error('auto regions did not finish within a minute');
    }
    return { totalMs: performance.now() - start, longestFrameMs: longest };
  });

  const report = {
    when: new Date().toISOString(),
    host: fake ? 'renderer alone, fake host' : 'npm run serve',
    browser: 'headless Debian chromium (software rendering)',
    photoPx: result.canvas,
    displayedPx: result.displayed,
    brushPx: Number(values.brush),
    frames,
    samplesPerFrame: 4,
    frameMs: { mean: mean(result.intervals), p50: pct(result.intervals, 50), p95: pct(result.intervals, 95), p99: pct(result.intervals, 99), max: Math.max(...result.intervals) },
    framesOver16_7ms: over,
    fps: 1000 / mean(result.intervals),
    inputHandlersMsPerFrame: { mean: mean(result.handlerMs), p95: pct(result.handlerMs, 95), max: Math.max(...result.handlerMs) },
    overlayRedrawMsPerFrame: { mean: mean(result.paintMs), p95: pct(result.paintMs, 95), max: Math.max(...result.paintMs) },
    load: loadavg().map((v) => Math.round(v * 100) / 100),
    cpus: cpus().length,
    autoRegions: auto,
  };
  mkdirSync(path.resolve(root, values.out!), { recursive: true });
  const file = path.resolve(root, values.out!, `mask-editor-fps-${sizePx}${fake ? '-fake' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
  console.log(`written to ${path.relative(root, file)}`);
} finally {
  if (!fake) await browser.close();
  await fake?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
}
