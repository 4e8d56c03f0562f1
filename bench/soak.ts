// Soak (not a test): the real studio — `npm run serve` plus headless chromium — painting one long run at 256 px
// while this script samples the host's RSS, the page's JS heap, main-thread lag, the latency of a UI interaction
// and the iteration the UI shows. Writes bench/results/soak.{json,md} and prints the Markdown.
// Usage: npm run soak -- [--minutes 30] [--warmup 3] [--interval 10] [--size 256] [--iterations 10000] [--out bench/results]
// Exits 0 when every check passes (or when the soak is skipped for missing data/chromium), 1 otherwise.

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CDPSession, Page } from 'playwright-core';
import { REPO_ROOT, sharedPath } from '../tests/helpers/shared-data.js';
import { collectPageProblems, hasChromium, launchChromium, type LaunchedBrowser } from '../tests/renderer-e2e/helpers/browser.js';
import { serveCommand, startStudioServer, type StudioServer } from '../tests/renderer-e2e/helpers/studio-server.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    interval: { type: 'string', default: '10' },
    size: { type: 'string', default: '256' },
    iterations: { type: 'string', default: '10000' },
    out: { type: 'string', default: 'bench/results' },
  },
});

const positive = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number, got ${text}`);
  return n;
};
const MINUTES = positive('minutes', values.minutes);
const WARMUP_MIN = Number(values.warmup);
if (!Number.isFinite(WARMUP_MIN) || WARMUP_MIN < 0 || WARMUP_MIN >= MINUTES) throw new RangeError(`--warmup must be at least 0 and under --minutes, got ${values.warmup}`);
const INTERVAL_S = positive('interval', values.interval);
const SIZE_PX = Math.round(positive('size', values.size));
const ITERATIONS = Math.round(positive('iterations', values.iterations));
const OUT_DIR = path.resolve(REPO_ROOT, values.out!);

// The thresholds this soak holds the studio to.
const RSS_GROWTH_MAX_PCT = 5;
const LAG_P95_MAX_MS = 100;
const INTERACTION_P95_MAX_MS = 250;
const STALL_MAX_S = 60;
const STOP_MAX_S = 120;

const CONTENT = sharedPath('data', 'images', 'content_tubingen.jpg');
const STYLE = sharedPath('data', 'images', 'style_starry_night.jpg');
const WEIGHTS = sharedPath('data', 'vgg19-imagenet-uint8');

function skipReason(): string | null {
  if (!hasChromium()) return '/usr/bin/chromium is absent (apt-get install chromium)';
  if (!existsSync(CONTENT) || !existsSync(STYLE)) return `${path.dirname(CONTENT)} lacks content_tubingen.jpg or style_starry_night.jpg`;
  if (!existsSync(WEIGHTS)) return `${WEIGHTS} is absent`;
  if (!serveCommand(REPO_ROOT)) return 'this checkout has no `npm run serve` (the browser host)';
  return null;
}

// --- Numbers -------------------------------------------------------------------------------------------------

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile. */
function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (x: number, digits = 1): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN);

// --- The host process ----------------------------------------------------------------------------------------

/** Every process under `root` (npm → sh → node scripts/serve.mjs → node out/server/serve.js, chromium …). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** The node process running out/server/serve.js: it hosts the services and the engine's worker thread. */
function findHostPid(): number | null {
  for (const pid of descendants(process.pid)) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.some((arg) => arg.endsWith(path.join('out', 'server', 'serve.js')))) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** VmRSS, VmHWM (MB) and thread count from /proc/PID/status. */
function processMemory(pid: number): { rssMb: number; hwmMb: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: field('VmRSS') / 1024, hwmMb: field('VmHWM') / 1024, threads: field('Threads') };
}

// --- In the page ---------------------------------------------------------------------------------------------

interface SoakProbe {
  /** Click on Compare → its aria-pressed changed and the next frame began, measured from the event's timestamp. */
  latenciesMs: number[];
  /** Of which: from the event's timestamp until its first listener ran (time queued behind other work). */
  inputDelaysMs: number[];
}
type ProbeWindow = Window & { __soakProbe?: SoakProbe };

/** Installs the interaction probe: a capture listener sees the click before the app's own handler. */
async function installProbe(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as ProbeWindow;
    if (w.__soakProbe) return;
    const probe: SoakProbe = { latenciesMs: [], inputDelaysMs: [] };
    w.__soakProbe = probe;
    document.addEventListener(
      'click',
      (event) => {
        const button = (event.target as Element | null)?.closest('button');
        if (!button || button.textContent?.trim() !== 'Compare') return;
        const start = event.timeStamp;
        probe.inputDelaysMs.push(performance.now() - start);
        const before = button.getAttribute('aria-pressed');
        const observer = new MutationObserver(() => {
          if (button.getAttribute('aria-pressed') === before) return;
          observer.disconnect();
          // The DOM shows it once a frame with the change begins.
          requestAnimationFrame(() => probe.latenciesMs.push(performance.now() - start));
        });
        observer.observe(button, { attributes: true, attributeFilter: ['aria-pressed'] });
      },
      { capture: true },
    );
  });
}

/** Main-thread lag: a requestAnimationFrame then a setTimeout(0), timed in the page (≈ one frame when idle). */
const measureLag = (page: Page): Promise<number> =>
  page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const t0 = performance.now();
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
      }),
  );

/** Toggles the preview's Compare view (harmless to the run) and waits until the page recorded the change. */
async function measureInteraction(page: Page): Promise<{ latencyMs: number; inputDelayMs: number; roundTripMs: number } | null> {
  const compare = page.getByRole('button', { name: 'Compare', exact: true });
  if (!(await compare.isEnabled())) return null;
  const count = await page.evaluate(() => (window as ProbeWindow).__soakProbe!.latenciesMs.length);
  const t0 = performance.now();
  await compare.click({ timeout: 30_000 });
  await page.waitForFunction((n) => (window as ProbeWindow).__soakProbe!.latenciesMs.length > n, count, { timeout: 30_000 });
  const roundTripMs = performance.now() - t0;
  const last = await page.evaluate(() => {
    const probe = (window as ProbeWindow).__soakProbe!;
    return { latencyMs: probe.latenciesMs.at(-1)!, inputDelayMs: probe.inputDelaysMs.at(-1)! };
  });
  return { ...last, roundTripMs };
}

async function jsHeap(cdp: CDPSession): Promise<{ heapUsedMb: number; heapTotalMb: number; domNodes: number; listeners: number }> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name: string): number => metrics.find((m) => m.name === name)?.value ?? NaN;
  return { heapUsedMb: get('JSHeapUsedSize') / 2 ** 20, heapTotalMb: get('JSHeapTotalSize') / 2 ** 20, domNodes: get('Nodes'), listeners: get('JSEventListeners') };
}

async function uiState(page: Page): Promise<{ state: string; iteration: number; frames: number }> {
  return page.evaluate(() => {
    const status = document.querySelector('[data-testid="status"]');
    const preview = document.querySelector('[data-testid="preview"]');
    return {
      state: status?.getAttribute('data-state') ?? 'absent',
      iteration: Number(status?.getAttribute('data-iteration') ?? NaN),
      frames: Number(preview?.getAttribute('data-frames') ?? NaN),
    };
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// --- The soak ------------------------------------------------------------------------------------------------

interface Sample {
  /** Seconds since Start was clicked. */
  t: number;
  rssMb: number;
  hwmMb: number;
  threads: number;
  heapUsedMb: number;
  heapTotalMb: number;
  domNodes: number;
  listeners: number;
  lagMs: number;
  interactionMs: number | null;
  inputDelayMs: number | null;
  interactionRoundTripMs: number | null;
  state: string;
  iteration: number;
  frames: number;
  load1: number;
}

const cleanups: Array<() => Promise<void>> = [];
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`soak: cleanup step failed: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}
// Playwright handles SIGINT/SIGTERM itself (it kills chromium and calls process.exit), so the async cleanup may never
// finish: on exit, whatever is left of the host's process group and the temp folders goes synchronously.
const leftovers: { hostGroup: number | null; folders: string[] } = { hostGroup: null, folders: [] };
process.on('exit', () => {
  if (leftovers.hostGroup !== null) {
    try {
      process.kill(-leftovers.hostGroup, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (const folder of leftovers.folders) rmSync(folder, { recursive: true, force: true });
});

/** The value of `--name VALUE` or `--name=VALUE` in a process's command line. */
function argOf(pid: number, name: string): string | null {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const at = argv.indexOf(name);
    if (at >= 0) return argv[at + 1] ?? null;
    return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? null;
  } catch {
    return null;
  }
}

/** The process group a process belongs to (the helper starts `npm run serve` as its own group). */
function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`soak: ${signal}, stopping the browser and the host…`);
    void cleanup().then(() => process.exit(130));
  });
}

const log = (line: string): void => {
  process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function main(): Promise<number> {
  const reason = skipReason();
  if (reason) {
    console.log(`soak skipped: ${reason}`);
    return 0;
  }
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  log(`starting the host (npm run serve; builds what is stale first), ${MINUTES} min soak, warm-up ${WARMUP_MIN} min, every ${INTERVAL_S} s`);
  const server: StudioServer = await startStudioServer({ repoRoot: REPO_ROOT, weights: WEIGHTS, timeoutMs: 600_000 });
  cleanups.push(async () => {
    await server.close();
    leftovers.hostGroup = null;
  });
  const hostPid = findHostPid();
  if (hostPid === null) throw new Error(`found no out/server/serve.js process under this one:\n${server.output()}`);
  leftovers.hostGroup = processGroup(hostPid);
  const dataDir = argOf(hostPid, '--data-dir');
  if (dataDir) leftovers.folders.push(dataDir);
  log(`host pid ${hostPid} (${processMemory(hostPid).rssMb.toFixed(0)} MB RSS idle) at ${server.url.replace(/token=\S+/, 'token=…')}`);

  const chromium: LaunchedBrowser = await launchChromium({ width: 1440, height: 900 });
  cleanups.push(() => chromium.close());
  for (const pid of descendants(process.pid)) {
    const profile = argOf(pid, '--user-data-dir');
    if (profile?.includes('nst-chromium-')) {
      leftovers.folders.push(profile);
      break;
    }
  }
  const page = await chromium.context.newPage();
  const problems: string[] = [];
  collectPageProblems(page, problems);
  const cdp = await chromium.context.newCDPSession(page);
  await cdp.send('Performance.enable');

  await page.goto(server.url);
  await page.getByTestId('start').waitFor({ state: 'visible', timeout: 60_000 });
  await page.getByTestId('content-input').setInputFiles(CONTENT);
  await page.getByTestId('style-input').setInputFiles(STYLE);
  await page.getByText(path.basename(CONTENT)).waitFor({ timeout: 60_000 });
  await page.getByText(path.basename(STYLE)).waitFor({ timeout: 60_000 });
  await page.getByTestId('param-size').fill(String(SIZE_PX));
  await page.getByTestId('param-iterations').fill(String(ITERATIONS));
  await page.getByTestId('param-iterations').press('Tab');
  await installProbe(page);
  const chromiumVersion = chromium.browser.version();

  // The preview is live by design (a frame every 250 ms while running); the default layers and optimizer stay.
  await page.getByTestId('start').click();
  const t0 = performance.now();
  const elapsedS = (): number => (performance.now() - t0) / 1000;
  const running = await waitFor('the run to start', () => uiState(page), (s) => s.state === 'running' || s.state === 'error', 600_000);
  if (running.state === 'error') throw new Error(`the run failed to start: ${await page.getByTestId('error').allTextContents()}`);
  const runningAfterS = elapsedS();
  log(`running after ${runningAfterS.toFixed(1)} s`);

  const samples: Sample[] = [];
  const restarts: string[] = [];
  let lastIteration = running.iteration;
  let iterationsDone = 0;
  let lastAdvanceS = elapsedS();
  let maxStallS = 0;
  const endS = MINUTES * 60;
  for (let k = 1; ; k++) {
    const due = runningAfterS + k * INTERVAL_S;
    if (due > endS) break;
    const wait = due - elapsedS();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait * 1000));

    const mem = processMemory(hostPid);
    const heap = await jsHeap(cdp);
    const lagMs = await measureLag(page);
    const interaction = await measureInteraction(page);
    const ui = await uiState(page);
    const t = elapsedS();

    if (Number.isFinite(ui.iteration)) {
      if (ui.iteration > lastIteration) iterationsDone += ui.iteration - lastIteration;
      else if (ui.iteration < lastIteration) iterationsDone += ui.iteration; // a new run counts from 0
      if (ui.iteration !== lastIteration) lastAdvanceS = t;
      lastIteration = ui.iteration;
    }
    maxStallS = Math.max(maxStallS, t - lastAdvanceS);
    samples.push({
      t,
      ...mem,
      ...heap,
      lagMs,
      interactionMs: interaction?.latencyMs ?? null,
      inputDelayMs: interaction?.inputDelayMs ?? null,
      interactionRoundTripMs: interaction?.roundTripMs ?? null,
      ...ui,
      load1: os.loadavg()[0]!,
    });
    log(
      `t=${t.toFixed(0)}s ${ui.state} it=${ui.iteration} frames=${ui.frames} rss=${mem.rssMb.toFixed(0)}MB heap=${heap.heapUsedMb.toFixed(1)}MB ` +
        `lag=${lagMs.toFixed(0)}ms click=${interaction ? interaction.latencyMs.toFixed(0) : '-'}ms load=${os.loadavg()[0]!.toFixed(1)}`,
    );

    // The run is long enough to outlast the soak; should it still end (converged, failed), start it again and say so.
    if (ui.state === 'done' || ui.state === 'error' || ui.state === 'stopped') {
      const why = ui.state === 'error' ? `failed: ${(await page.getByTestId('error').allTextContents()).join(' | ')}` : ui.state;
      restarts.push(`at ${t.toFixed(0)} s the run ${why}; started again`);
      log(restarts.at(-1)!);
      if (restarts.length > 3) throw new Error(`the run ended ${restarts.length} times: ${restarts.join('; ')}`);
      await page.getByTestId('start').click();
      lastIteration = 0;
      lastAdvanceS = elapsedS();
    }
  }

  // Stop through the UI, as the artist would, and see it stay stopped.
  log('stopping the run through the UI');
  const stopClickedS = elapsedS();
  await page.getByTestId('stop').click();
  const stopped = await waitFor('the run to stop', () => uiState(page), (s) => s.state === 'stopped' || s.state === 'done', STOP_MAX_S * 1000).catch(
    (error: Error) => ({ state: `not stopped: ${error.message}`, iteration: NaN, frames: NaN }),
  );
  const stopTookS = elapsedS() - stopClickedS;
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const afterStop = await uiState(page);
  const stopOk = (stopped.state === 'stopped' || stopped.state === 'done') && afterStop.iteration === stopped.iteration && afterStop.state === stopped.state;
  const historyEntries = await page.getByTestId('history-entry').count();
  log(`stop: ${stopped.state} after ${stopTookS.toFixed(1)} s at iteration ${stopped.iteration}; 5 s later ${afterStop.state} at ${afterStop.iteration}`);

  // --- Summary ---
  const warmupS = WARMUP_MIN * 60;
  const lastT = samples.at(-1)?.t ?? 0;
  const windowS = Math.min(180, (lastT - warmupS) / 2);
  const inWindow = (from: number, to: number): Sample[] => samples.filter((s) => s.t >= from && s.t <= to);
  const early = inWindow(warmupS, warmupS + windowS);
  const late = inWindow(lastT - windowS, lastT);
  const growth = (pick: (s: Sample) => number): { earlyMedian: number; lateMedian: number; growthPct: number } => {
    const earlyMedian = median(early.map(pick));
    const lateMedian = median(late.map(pick));
    return { earlyMedian: round(earlyMedian), lateMedian: round(lateMedian), growthPct: round(((lateMedian - earlyMedian) / earlyMedian) * 100, 2) };
  };
  const rss = { ...growth((s) => s.rssMb), maxMb: round(Math.max(...samples.map((s) => s.rssMb))), peakHwmMb: round(Math.max(...samples.map((s) => s.hwmMb))) };
  const heap = { ...growth((s) => s.heapUsedMb), maxMb: round(Math.max(...samples.map((s) => s.heapUsedMb))) };
  const domNodes = { early: median(early.map((s) => s.domNodes)), late: median(late.map((s) => s.domNodes)) };
  const stats = (xs: number[]): { n: number; p50: number; p95: number; max: number } => ({
    n: xs.length,
    p50: round(percentile(xs, 50)),
    p95: round(percentile(xs, 95)),
    max: round(Math.max(...xs)),
  });
  const lag = stats(samples.map((s) => s.lagMs));
  const interactions = samples.filter((s) => s.interactionMs !== null);
  const interaction = stats(interactions.map((s) => s.interactionMs!));
  const inputDelay = stats(interactions.map((s) => s.inputDelayMs!));
  const roundTrip = stats(interactions.map((s) => s.interactionRoundTripMs!));
  const runningS = lastT - runningAfterS;
  const msPerIteration = iterationsDone > 0 ? (runningS * 1000) / iterationsDone : NaN;

  const checks = [
    { name: `RSS growth after warm-up < ${RSS_GROWTH_MAX_PCT}%`, pass: Number.isFinite(rss.growthPct) && rss.growthPct < RSS_GROWTH_MAX_PCT, value: `${rss.growthPct}%` },
    {
      name: `UI responsive (p95 lag < ${LAG_P95_MAX_MS} ms, interaction p95 < ${INTERACTION_P95_MAX_MS} ms)`,
      pass: lag.p95 < LAG_P95_MAX_MS && interaction.n > 0 && interaction.p95 < INTERACTION_P95_MAX_MS,
      value: `lag p95 ${lag.p95} ms, interaction p95 ${interaction.p95} ms`,
    },
    { name: `iteration kept advancing (no stall > ${STALL_MAX_S} s, no restart)`, pass: maxStallS <= STALL_MAX_S && restarts.length === 0, value: `longest time without a new iteration ${round(maxStallS)} s (seen at ${INTERVAL_S} s samples), ${restarts.length} restarts` },
    { name: `Stop through the UI ends the run (< ${STOP_MAX_S} s) and it stays stopped`, pass: stopOk, value: `${stopped.state} after ${round(stopTookS)} s` },
    { name: 'no page errors', pass: problems.length === 0, value: `${problems.length}` },
  ];

  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    settings: { minutes: MINUTES, warmupMinutes: WARMUP_MIN, intervalS: INTERVAL_S, sizePx: SIZE_PX, iterations: ITERATIONS, content: path.basename(CONTENT), style: path.basename(STYLE) },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: round(os.totalmem() / 2 ** 30), load1AtStart: round(loadAtStart[0]!, 2), load1AtEnd: round(os.loadavg()[0]!, 2), node: process.version, chromium: chromiumVersion },
    thresholds: { rssGrowthMaxPct: RSS_GROWTH_MAX_PCT, lagP95MaxMs: LAG_P95_MAX_MS, interactionP95MaxMs: INTERACTION_P95_MAX_MS, stallMaxS: STALL_MAX_S, stopMaxS: STOP_MAX_S },
    windows: { warmupS, windowS: round(windowS), early: [round(warmupS), round(warmupS + windowS)], late: [round(lastT - windowS), round(lastT)], earlySamples: early.length, lateSamples: late.length },
    rss,
    heap,
    domNodes,
    lagMs: lag,
    interactionMs: interaction,
    inputDelayMs: inputDelay,
    interactionRoundTripMs: roundTrip,
    run: { runningAfterS: round(runningAfterS), iterationsDone, msPerIteration: round(msPerIteration), lastIteration, longestStallS: round(maxStallS), restarts, stop: { state: stopped.state, tookS: round(stopTookS), iteration: stopped.iteration, fiveSecondsLater: afterStop, historyEntries } },
    problems,
    checks,
    pass: checks.every((c) => c.pass),
    samples: samples.map((s) => ({ ...s, t: round(s.t), rssMb: round(s.rssMb), hwmMb: round(s.hwmMb), heapUsedMb: round(s.heapUsedMb, 2), heapTotalMb: round(s.heapTotalMb, 2), lagMs: round(s.lagMs), interactionMs: s.interactionMs === null ? null : round(s.interactionMs), inputDelayMs: s.inputDelayMs === null ? null : round(s.inputDelayMs), interactionRoundTripMs: s.interactionRoundTripMs === null ? null : round(s.interactionRoundTripMs), load1: round(s.load1, 2) })),
  };

  const md = [
    `# Soak: the studio in the browser host, ${MINUTES} min at ${SIZE_PX} px`,
    '',
    `${result.startedAt} → ${result.finishedAt}. \`npm run soak -- --minutes ${MINUTES} --warmup ${WARMUP_MIN}\`: \`npm run serve\` and headless chromium ${chromiumVersion}, ` +
      `${path.basename(CONTENT)} + ${path.basename(STYLE)}, default layers and L-BFGS, ${ITERATIONS} iterations asked (stopped through the UI at the end), live preview. ` +
      `Sampled every ${INTERVAL_S} s; warm-up ${WARMUP_MIN} min. Machine: ${result.machine.cpus} cores (${result.machine.cpuModel}), ${result.machine.memoryGb} GB, ` +
      `load average ${result.machine.load1AtStart} at the start and ${result.machine.load1AtEnd} at the end (other work shared the cores).`,
    '',
    '| | value |',
    '|---|---|',
    `| host RSS (node out/server/serve.js, engine worker thread inside) | median ${rss.earlyMedian} MB in ${round(warmupS / 60)}–${round((warmupS + windowS) / 60)} min → ${rss.lateMedian} MB in the last ${round(windowS / 60)} min: **${rss.growthPct}%**; max ${rss.maxMb} MB (VmHWM ${rss.peakHwmMb} MB) |`,
    `| page JS heap used | median ${heap.earlyMedian} MB → ${heap.lateMedian} MB: ${heap.growthPct}%; max ${heap.maxMb} MB; DOM nodes ${domNodes.early} → ${domNodes.late} |`,
    `| main-thread lag (rAF + setTimeout 0 in the page, n=${lag.n}) | p50 ${lag.p50} ms, p95 ${lag.p95} ms, max ${lag.max} ms |`,
    `| interaction: click Compare → aria-pressed changed and next frame (n=${interaction.n}) | p50 ${interaction.p50} ms, p95 ${interaction.p95} ms, max ${interaction.max} ms (input delay p95 ${inputDelay.p95} ms; with playwright's round trip p50 ${roundTrip.p50} ms) |`,
    `| iterations | ${iterationsDone} in ${round(runningS / 60)} min running, ${round(msPerIteration)} ms/iteration; longest time without a new iteration ${round(maxStallS)} s (at ${INTERVAL_S} s samples); restarts ${restarts.length} |`,
    `| stop through the UI | ${stopped.state} after ${round(stopTookS)} s at iteration ${stopped.iteration}; 5 s later ${afterStop.state} at ${afterStop.iteration}; history entries ${historyEntries} |`,
    '',
    ...checks.map((c) => `- **${c.pass ? 'PASS' : 'FAIL'}** ${c.name}: ${c.value}`),
    ...(problems.length ? ['', 'Page problems:', ...problems.slice(0, 20).map((p) => `- ${p}`)] : []),
    ...(restarts.length ? ['', 'Restarts:', ...restarts.map((r) => `- ${r}`)] : []),
    '',
  ].join('\n');

  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(OUT_DIR, 'soak.md'), md);
  console.log(`\n${md}`);
  log(`wrote ${path.relative(REPO_ROOT, path.join(OUT_DIR, 'soak.json'))} and soak.md`);
  return result.pass ? 0 : 1;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    console.error(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanup();
    process.exit(2);
  });
