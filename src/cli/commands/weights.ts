// `nst weights status | fetch | import | verify | path | remove`: the VGG19 weights in the app's data folder.

import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { NstError, WEIGHTS_ENV, WEIGHTS_HOW_TO, locateWeights, type WeightsLocation, type WeightsOrigin, KERAS_VGG19_NOTOP, downloadAndInstallWeights, type WeightsProgress, importWeights, dataDir, describeSource, removeConvertedWeights, storePaths, verifyConvertedWeights, weightsStatus, inspectInstalledWeights, type WeightsIndex, type WeightsStatus, VGG19_LAYER_NAMES } from '../../engine/index.js';
import { say, writeJsonLine, writeText } from '../output.js';
import { parseNumber } from '../parse.js';
import { openStopScope, StoppedBySignal } from '../stop-signals.js';

type Raw = Record<string, string | boolean | undefined>;

export function weightsCommand(): Command {
  const command = new Command('weights').description(
    'the VGG19 weights in the data folder: status, fetch (download), import, verify, path, remove',
  );
  command.addCommand(statusCommand(), { isDefault: true });
  for (const sub of [fetchCommand(), importCommand(), verifyCommand(), pathCommand(), removeCommand()]) command.addCommand(sub);
  return command;
}

function statusCommand(): Command {
  return new Command('status')
    .description('which weights runs use and where they come from; what is installed (source, digests, date, layers); any download that can resume')
    .option('--json', 'print one JSON object')
    .action(async (raw: Raw) => {
      const status = await weightsStatus(dataDir());
      const active = await locateWeights();
      if (raw.json === true) writeJsonLine({ active: activeJson(active), ...statusJson(status) });
      else writeText(activeText(active) + statusText(status, active));
    });
}

function fetchCommand(): Command {
  return new Command('fetch')
    .description('download the Keras VGG19 weights (about 80 MB; resumes an interrupted download), verify and install them')
    .option('--url <url>', 'download from this URL (or copy this local file) instead of the Keras mirrors')
    .option('--md5 <hex>', 'the MD5 the file must have (default: the Keras file\'s)')
    .option('--sha256 <hex>', 'also require this SHA-256')
    .option('--timeout <seconds>', 'give up on a connection that sends nothing for this long', '30')
    .option('--retries <n>', 'further tries per mirror after a network error', '3')
    .option('--force', 'download even when complete weights are installed')
    .option('--json', 'JSON lines: progress, then a final {"done":true,…} line')
    .action(async (raw: Raw) => {
      const text = raw as Record<string, string | undefined>;
      const timeoutMs = 1000 * parseNumber('--timeout', text.timeout!, { min: 0, max: 3600, minExclusive: true });
      const retries = parseNumber('--retries', text.retries!, { min: 0, max: 100, integer: true });
      const root = dataDir();
      const json = raw.json === true;
      // Damaged weights (a truncated blob, an index that does not read) are not "installed": fetch replaces them
      // without --force, as the refusal of them says to.
      const { status: before } = await inspectInstalledWeights(root);
      if (before?.index && before.complete && before.damage === null && raw.force !== true && text.url === undefined) {
        if (json) writeJsonLine({ done: true, alreadyInstalled: true, ...statusJson(before) });
        else say(`VGG19 weights are already installed (${describeSource(before.index.provenance)}); --force downloads again.`);
        return;
      }
      const controller = new AbortController();
      // SIGINT, SIGTERM, SIGHUP (stop-signals.ts): the download stops, its part kept for the next fetch to resume.
      const stops = openStopScope();
      stops.onStop(() => controller.abort());
      const progress = json ? jsonProgress() : barProgress();
      try {
        const index = await downloadAndInstallWeights({
          root,
          ...(text.url !== undefined && { urls: [text.url] }),
          ...(text.md5 !== undefined && { expectedMd5: text.md5 }),
          ...(text.sha256 !== undefined && { expectedSha256: text.sha256 }),
          timeoutMs,
          retries,
          signal: controller.signal,
          progressIntervalMs: json ? 1000 : 100,
          onProgress: progress.update,
        });
        progress.stop();
        reportInstalled(index, root, json);
      } catch (error) {
        progress.stop();
        if (stops.signal && error instanceof NstError && error.code === 'ABORTED') throw new StoppedBySignal(stops.signal, error.message, { cause: error });
        if (error instanceof NstError && error.code === 'DOWNLOAD_FAILED') {
          // Resuming is offered only where a partial download was left to resume.
          const partial = ((await weightsStatus(root).catch(() => null))?.partialDownloads.length ?? 0) > 0;
          const next = partial ? 'Run `nst weights fetch` again to resume, or download' : 'Download';
          throw new NstError(error.code, `${error.message} ${next} the file yourself and run \`nst weights import PATH\`.`, { cause: error });
        }
        throw error;
      } finally {
        stops.close();
      }
    });
}

function importCommand(): Command {
  return new Command('import')
    .description('install a VGG19 file you have: a Keras .h5, an ONNX .onnx, or a TF.js model.json or folder')
    .argument('<path>', 'the weights file or TF.js folder')
    .option('--json', 'print one JSON object')
    .action(async (source: string, raw: Raw) => {
      const root = dataDir();
      const index = await importWeights(source, { root }).catch((error: unknown) => {
        // As for --weights: a path that leads nowhere is a weights problem (exit 4), not an image one.
        if (error instanceof NstError && error.code === 'FILE_NOT_FOUND') {
          throw new NstError('WEIGHTS_NOT_FOUND', error.message, { cause: error });
        }
        throw error;
      });
      reportInstalled(index, root, raw.json === true);
    });
}

function verifyCommand(): Command {
  return new Command('verify')
    .description('re-hash the installed weights against the SHA-256 recorded when they were installed')
    .option('--json', 'print one JSON object')
    .action(async (raw: Raw) => {
      const result = await verifyConvertedWeights(dataDir()).catch((error: unknown) => {
        if (error instanceof NstError && error.code === 'WEIGHTS_NOT_FOUND') {
          throw new NstError(error.code, `${error.message} ${WEIGHTS_HOW_TO}`, { cause: error });
        }
        throw error;
      });
      if (!result.ok) {
        throw new NstError(
          'CHECKSUM_MISMATCH',
          `${result.blobPath} is damaged: ${result.bytes} bytes with SHA-256 ${result.actualSha256}, not the ` +
            `${result.expectedSha256} recorded at install. Install the weights again (\`nst weights fetch --force\` or \`nst weights import PATH\`).`,
        );
      }
      if (raw.json === true) writeJsonLine(result);
      else writeText(`ok: ${result.blobPath} (${result.bytes} bytes) matches its recorded SHA-256 ${result.actualSha256}\n`);
    });
}

function pathCommand(): Command {
  return new Command('path')
    .description('print the folder the weights are installed in (--weights accepts it)')
    .action(() => {
      writeText(`${storePaths(dataDir()).weights}\n`);
    });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('delete the installed weights and any partial download')
    .option('--json', 'print one JSON object')
    .action(async (raw: Raw) => {
      const root = dataDir();
      const removed = await removeConvertedWeights(root);
      if (raw.json === true) writeJsonLine({ removed });
      else if (removed.length === 0) say(`no weights installed in ${storePaths(root).weights}; nothing removed.`);
      else say(`removed ${removed.join(', ')}`);
    });
}

// --- output ------------------------------------------------------------------------------------------------

function statusJson(status: WeightsStatus): Record<string, unknown> {
  const index = status.index;
  return {
    installed: index !== null,
    complete: status.complete,
    damaged: status.damage,
    layers: status.layers,
    folder: status.paths.weights,
    blob: index && { path: status.paths.blob, bytes: index.blob.bytes, sha256: index.blob.sha256 },
    provenance: index?.provenance ?? null,
    partialDownloads: status.partialDownloads,
  };
}

/** Which weights a run would use now, and where they come from. */
function activeJson(active: WeightsLocation): Record<string, unknown> {
  return active.path === null ? { path: null, origin: null, help: active.help } : { path: active.path, origin: active.origin, source: active.source };
}

const ORIGIN_WORDS: Record<WeightsOrigin, string> = {
  argument: 'given with --weights',
  environment: `from ${WEIGHTS_ENV}`,
  settings: 'from the studio settings',
  folder: 'found in the weights folder',
  installed: 'installed (nst weights fetch or import)',
  builtin: 'built in: the uint8-quantized ImageNet VGG19 shipped with the app',
};

function activeText(active: WeightsLocation): string {
  if (active.path === null) return `Runs use: no weights. ${active.help}
`;
  return `Runs use: ${active.path}
  ${ORIGIN_WORDS[active.origin]}
`;
}

function statusText(status: WeightsStatus, active: WeightsLocation): string {
  const lines: string[] = [];
  const index = status.index;
  if (!index) {
    lines.push(`Installed: none (folder ${status.paths.weights}).`);
    // The built-in weights are quantized; the full-precision download is an upgrade, not a prerequisite.
    if (active.path !== null && active.origin === 'builtin') lines.push('  `nst weights fetch` downloads the full-precision VGG19 (about 80 MB) as an upgrade.');
    else if (active.path === null) lines.push(`  ${WEIGHTS_HOW_TO}`);
  } else {
    const p = index.provenance;
    // What stylize checks first: a blob that is missing or cut short is no install, whatever its index says.
    if (status.damage) lines.push(`Installed: DAMAGED, runs refuse them: ${status.damage}. Install them again: \`nst weights fetch\` (or \`nst weights import PATH\`).`);
    else lines.push(`Installed: ${layerSummary(status.layers)}`);
    lines.push(`  source   ${describeSource(p)} (${p.format})`);
    for (const file of p.files) lines.push(`  file     ${file.name}, ${file.bytes} bytes, md5 ${file.md5}, sha256 ${file.sha256}`);
    lines.push(`  date     ${p.date}`);
    lines.push(`  stored   ${status.paths.blob} (${megabytes(index.blob.bytes)}, sha256 ${index.blob.sha256})`);
  }
  for (const part of status.partialDownloads) {
    lines.push(`  partial  ${part.path}: ${megabytes(part.bytes)} so far; \`nst weights fetch\` resumes it`);
  }
  return `${lines.join('\n')}\n`;
}

function layerSummary(layers: readonly string[]): string {
  const all = VGG19_LAYER_NAMES.length;
  const range = layers.length > 0 ? ` (${layers[0]} … ${layers[layers.length - 1]})` : '';
  const limit = layers.length < all ? `; layers deeper than ${layers[layers.length - 1] ?? 'none'} are not available` : '';
  return `${layers.length} of ${all} conv layers${range}${limit}`;
}

function reportInstalled(index: WeightsIndex, root: string, json: boolean): void {
  const layers = index.layers.map((l) => l.name);
  if (json) {
    writeJsonLine({ done: true, folder: storePaths(root).weights, layers, blob: index.blob, provenance: index.provenance });
    return;
  }
  say(`installed the VGG19 weights ${describeSource(index.provenance)} into ${storePaths(root).weights}: ${layerSummary(layers)}.`);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

interface ProgressSink {
  update(progress: WeightsProgress): void;
  stop(): void;
}

/** JSON lines on stdout: one per report (at most one a second), phases included. */
function jsonProgress(): ProgressSink {
  return { update: (progress) => writeJsonLine(progress), stop: () => {} };
}

/** A bar on stderr when it is a terminal: bytes, rate, ETA; a line per later phase. */
function barProgress(): ProgressSink {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  const stopBar = (): void => {
    bar?.stop();
    bar = null;
  };
  return {
    update: (progress) => {
      if (progress.phase !== 'download') {
        stopBar();
        say(`${progress.phase === 'verify' ? 'verifying the download' : 'converting to the fast-loading form'}…`);
        return;
      }
      const total = progress.total ?? KERAS_VGG19_NOTOP.approxBytes;
      const payload = {
        got: megabytes(progress.bytes),
        size: progress.total === null ? '?' : megabytes(progress.total),
        rate: `${megabytes(progress.bytesPerSecond)}/s`,
        eta: progress.etaSeconds === null ? '?' : `${Math.ceil(progress.etaSeconds)} s`,
      };
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: '{bar} {percentage}% | {got} of {size} | {rate} | ETA {eta}', hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, progress.bytes, payload);
      } else {
        bar.setTotal(total);
        bar.update(progress.bytes, payload);
      }
    },
    stop: stopBar,
  };
}
