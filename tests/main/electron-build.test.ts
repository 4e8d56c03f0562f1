// The desktop build, read as built: a sandbox-loadable CommonJS preload that needs only `electron`, a main
// bundle that keeps native/wasm packages external and finds its preload, renderer and worker inside out/, a
// renderer with the CSP, and an electron-builder config that unpacks the native modules and sets the fuses.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { minimatch } from 'minimatch';
import sharp from 'sharp';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { findElectronBinary } from '../../scripts/electron-binary.mjs';
import { RENDERER_CSP, metaCsp, normalizeCsp } from '../../src/main/csp.js';
import { BUILD_LAYOUT, appPaths } from '../../src/main/paths.js';
import { APP_ID } from '../../src/main/window.js';
import { API, PUSH_NAMES, REQUEST_METHODS, listenerName } from '../../src/shared/api.js';
import { OUT_DIR, ROOT, ensureElectronBuild } from '../helpers/electron-build.js';

vi.mock('electron', () => {
  throw new Error('a module under test loaded electron at run time (only src/main/index.ts and the preload may)');
});

const out = (...parts: string[]): string => path.join(OUT_DIR, ...parts);
const read = (file: string): string => readFileSync(file, 'utf8');
const jsFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(c|m)?js$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));

/** Every module specifier an ES module imports, statically or dynamically (string literals only). */
function importedSpecifiers(code: string): string[] {
  const specs = new Set<string>();
  for (const m of code.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']/gm)) specs.add(m[1]!);
  for (const m of code.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) specs.add(m[1]!);
  for (const m of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specs.add(m[1]!);
  return [...specs];
}

const packageName = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;

const pkg = JSON.parse(read(path.join(ROOT, 'package.json'))) as {
  main: string;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

beforeAll(() => ensureElectronBuild());

describe('electron-vite build layout', () => {
  it('writes out/main, out/preload and out/renderer and leaves the CLI build in out/cli alone', () => {
    expect(existsSync(out('main', 'index.js'))).toBe(true);
    expect(existsSync(out('main', 'job-worker.js'))).toBe(true);
    expect(existsSync(out('preload', 'index.cjs'))).toBe(true);
    expect(existsSync(out('renderer', 'index.html'))).toBe(true);
    // The global setup built the CLI before this file's electron-vite build ran: emptyOutDir must not reach it.
    expect(existsSync(out('cli', 'nst.js'))).toBe(true);
  });

  it("is what package.json's main names (electron-vite dev/preview and electron-builder start there)", () => {
    expect(pkg.main).toBe('out/main/index.js');
  });
});

describe('preload bundle (out/preload/index.cjs)', () => {
  const file = out('preload', 'index.cjs');

  it('is a classic CommonJS script: no import/export statements, no dynamic import, no import.meta', () => {
    const code = read(file);
    // vm.Script compiles a classic script: an ES module's import/export statements are syntax errors there.
    expect(() => new vm.Script(code, { filename: file })).not.toThrow();
    expect(code).not.toMatch(/\bimport\s*\(/);
    expect(code).not.toMatch(/\bimport\.meta\b/);
  });

  it("requires only 'electron' (a sandboxed preload cannot load anything else)", () => {
    const code = read(file);
    const allCalls = [...code.matchAll(/\brequire\s*\(/g)].length;
    const literal = [...code.matchAll(/\brequire\s*\(\s*(["'`])([^"'`]+)\1\s*\)/g)].map((m) => m[2]);
    expect(literal.length).toBe(allCalls);
    expect(new Set(literal)).toEqual(new Set(['electron']));
  });

  it('carries the API table but not valibot: payloads are validated in the main process', () => {
    const code = read(file);
    expect(code).toContain('"run:start"');
    expect(code).not.toMatch(/safeParse|strictObject|valibot/);
    expect(code.length).toBeLessThan(20_000);
  });

  /** Runs the bundle as a sandboxed preload would: its own global, `require` that knows only `electron`. */
  function loadPreload(invoke: (channel: string, payload: unknown) => Promise<unknown> = async () => ({ ok: true, value: null })) {
    const exposed: Record<string, unknown> = {};
    const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
    const invocations: unknown[][] = [];
    const electron = {
      contextBridge: {
        exposeInMainWorld: (key: string, value: unknown) => {
          exposed[key] = value;
        },
      },
      ipcRenderer: {
        invoke: (channel: string, ...args: unknown[]) => {
          invocations.push([channel, ...args]);
          return invoke(channel, args[0]);
        },
        on: (channel: string, listener: (...args: unknown[]) => void) => {
          if (!listeners.has(channel)) listeners.set(channel, new Set());
          listeners.get(channel)!.add(listener);
        },
        removeListener: (channel: string, listener: (...args: unknown[]) => void) => {
          listeners.get(channel)?.delete(listener);
        },
      },
    };
    const sandboxRequire = (name: string): unknown => {
      if (name === 'electron') return electron;
      throw new Error(`a sandboxed preload cannot require ${name}`);
    };
    // Only `require` is provided: a bundle that reached for process, Buffer or module would throw here.
    vm.runInNewContext(read(file), { require: sandboxRequire }, { filename: file });
    return { exposed, listeners, invocations };
  }

  it("exposes exactly window.api: a function per call and per event of the API table (the menu's included), nothing else", () => {
    const { exposed } = loadPreload();
    expect(Object.keys(exposed)).toEqual(['api']);
    const api = exposed.api as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([...REQUEST_METHODS, ...PUSH_NAMES.map(listenerName)].sort());
    expect(PUSH_NAMES.map(listenerName)).toContain('onMenuAction');
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
  });

  it('sends each call on its channel with the payload as the one argument', async () => {
    const { exposed, invocations } = loadPreload();
    const api = exposed.api as Record<string, (payload?: unknown) => Promise<unknown>>;
    for (const method of REQUEST_METHODS) {
      invocations.length = 0;
      const payload = { marker: method };
      await api[method]!(payload);
      expect(invocations).toEqual([[API[method].channel, payload]]);
    }
  });

  it('turns a failed invoke (no handler, main gone) into an error Result instead of a rejection', async () => {
    const { exposed } = loadPreload(async () => {
      throw new Error("No handler registered for 'run:start'");
    });
    const api = exposed.api as Record<string, (payload?: unknown) => Promise<unknown>>;
    const result = (await api.startRun!({})) as { ok: boolean; error: { code: string; message: string } };
    expect(result.ok).toBe(false);
    expect(result.error.code).toBe('IPC_FAILED');
    expect(result.error.message).toContain('No handler registered');
  });

  it('delivers pushed events without the IpcRendererEvent, and unsubscribes', () => {
    const { exposed, listeners } = loadPreload();
    const api = exposed.api as Record<string, (listener: (...args: unknown[]) => void) => () => void>;
    for (const [method, channel] of PUSH_NAMES.map((name) => [listenerName(name), API[name].channel] as const)) {
      const received: unknown[][] = [];
      const unsubscribe = api[method]!((...args) => received.push(args));
      const registered = [...(listeners.get(channel) ?? [])];
      expect(registered).toHaveLength(1);
      const fakeEvent = { sender: { invoke: () => undefined }, ports: [] };
      registered[0]!(fakeEvent, { type: 'x' });
      expect(received).toEqual([[{ type: 'x' }]]);
      unsubscribe();
      expect(listeners.get(channel)?.size).toBe(0);
    }
  });
});

describe('main bundles (out/main)', () => {
  const files = (): string[] => jsFiles(out('main'));
  const NATIVE = ['onnxruntime-node', 'onnxruntime-web', 'sharp', 'h5wasm'];

  it('do not contain the native or wasm packages: they are imported by name', () => {
    const all = files().map(read).join('\n');
    for (const name of NATIVE) expect(all, name).not.toMatch(new RegExp(`node_modules[\\\\/]${name}[\\\\/]`));
    const specifiers = new Set(files().flatMap((f) => importedSpecifiers(read(f))));
    expect(specifiers).toContain('sharp');
    expect(specifiers).toContain('onnxruntime-node');
    expect(specifiers).toContain('h5wasm/node');
  });

  it('import only electron, Node built-ins, production dependencies (packaged with the app) and their own chunks', () => {
    const allowedPackages = new Set(['electron', ...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})]);
    const builtins = new Set(builtinModules);
    for (const file of files()) {
      for (const spec of importedSpecifiers(read(file))) {
        if (spec.startsWith('.')) {
          expect(existsSync(path.resolve(path.dirname(file), spec)), `${path.relative(ROOT, file)} imports ${spec}`).toBe(true);
        } else if (spec.startsWith('node:') || builtins.has(spec)) {
          continue;
        } else {
          expect(allowedPackages.has(packageName(spec)), `${path.relative(ROOT, file)} imports ${spec}, which is not a dependency`).toBe(true);
        }
      }
    }
  });

  it('find the preload, the renderer and the job worker inside out/, from the entry bundle itself', () => {
    const index = read(out('main', 'index.js'));
    // paths.ts's layout is in the bundle, resolved against the entry's own folder (not a chunk's).
    expect(index).toContain(`"${BUILD_LAYOUT.preload}"`);
    expect(index).toContain(`"${BUILD_LAYOUT.rendererDir}"`);
    expect(index).toContain(`"${BUILD_LAYOUT.worker}"`);
    expect(index).toMatch(/appPaths\(import\.meta\.dirname\)/);
    const paths = appPaths(out('main'));
    expect(existsSync(paths.preload)).toBe(true);
    expect(existsSync(path.join(paths.rendererDir, 'index.html'))).toBe(true);
    expect(existsSync(paths.worker)).toBe(true);
  });

  it('build the job worker as its own entry (the RunService starts it with worker_threads)', () => {
    const worker = read(out('main', 'job-worker.js'));
    expect(worker).toMatch(/from\s+["']node:worker_threads["']/);
    expect(worker).toContain('parentPort');
  });
});

describe('renderer build (out/renderer)', () => {
  const html = (): string => read(out('renderer', 'index.html'));

  it("carries the CSP as a meta tag: exactly src/main/csp.ts's policy", () => {
    const csp = metaCsp(html());
    expect(csp).not.toBeNull();
    expect(normalizeCsp(csp!)).toBe(normalizeCsp(RENDERER_CSP));
  });

  it("whose policy is strict: default-src 'self', scripts only from the app, no eval, no plugins, no frames", () => {
    const directives = new Map(
      normalizeCsp(metaCsp(html())!)
        .split('; ')
        .map((d) => {
          const [name, ...values] = d.split(' ');
          return [name!, values] as const;
        }),
    );
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-src')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(metaCsp(html())).not.toContain('unsafe-eval');
    expect(metaCsp(html())).not.toMatch(/\bhttps?:|\bws:|\*/);
  });

  it('has no inline script (the CSP would block it and leave a blank window) and every asset it names exists', () => {
    const page = html();
    for (const tag of page.match(/<script\b[^>]*>[\s\S]*?<\/script>/gi) ?? []) {
      expect(tag, 'inline script').toMatch(/\bsrc=/);
      expect(tag.replace(/<script\b[^>]*>/i, '').replace(/<\/script>/i, '').trim()).toBe('');
    }
    const refs = [...page.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref, 'assets are relative (served from app://studio/)').toMatch(/^\.\//);
      expect(existsSync(out('renderer', ref)), ref).toBe(true);
    }
  });

  it('ships no eval or new Function in its scripts (script-src has no unsafe-eval)', () => {
    for (const file of jsFiles(out('renderer'))) {
      const code = read(file);
      expect(code, path.relative(ROOT, file)).not.toMatch(/\beval\s*\(|\bnew\s+Function\s*\(/);
    }
  });
});

describe('electron-builder config (electron-builder.yml)', () => {
  const projectRequire = createRequire(path.join(ROOT, 'package.json'));

  /** The configuration exactly as electron-builder loads it, validated against its own schema. */
  async function builderConfig(): Promise<Record<string, unknown>> {
    const { getConfig, validateConfiguration } = projectRequire('app-builder-lib/out/util/config/config') as {
      getConfig(dir: string, file: string | null, overrides: null): Promise<Record<string, unknown>>;
      validateConfiguration(config: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = projectRequire('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const config = await getConfig(ROOT, null, null);
    await validateConfiguration(config, new DebugLogger(false));
    return config;
  }

  it("passes electron-builder's schema and names the app", async () => {
    const config = await builderConfig();
    expect(config.productName).toBe('Neural Style Studio');
    expect(config.appId).toBe(APP_ID);
    expect(config.asar).toBe(true);
  });

  it('packs the build output and unpacks native addons, their libraries and ffmpeg from the asar', async () => {
    const config = await builderConfig();
    const files = (config.files as Array<string | { filter: string[] }>).flatMap((f) => (typeof f === 'string' ? [f] : f.filter));
    expect(files).toEqual(expect.arrayContaining(['out/main/**', 'out/preload/**', 'out/renderer/**']));
    const unpack = config.asarUnpack as string[];
    const unpacked = (file: string): boolean => unpack.some((pattern) => minimatch(file, pattern, { dot: true }));
    for (const file of [
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll',
      'node_modules/sharp/lib/index.js',
      'node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node',
      'node_modules/@img/sharp-libvips-darwin-arm64/lib/libvips-cpp.8.17.3.dylib',
      'node_modules/ffmpeg-static/ffmpeg',
      'node_modules/@ffmpeg-installer/linux-x64/ffmpeg',
    ]) {
      expect(unpacked(file), file).toBe(true);
    }
    // The app's own code stays inside the archive (integrity-checked).
    expect(unpacked('out/main/index.js')).toBe(false);
    expect(unpacked('out/preload/index.cjs')).toBe(false);
  });

  it('copies the examples, the built-in weights and the NOTICE beside the app, where the studio reads them (process.resourcesPath)', async () => {
    const config = await builderConfig();
    expect(config.extraResources).toEqual([
      { from: 'resources/examples', to: 'examples' },
      { from: 'resources/weights', to: 'weights' },
      { from: 'NOTICE', to: 'NOTICE' },
    ]);
    for (const file of ['examples/golden-gate.jpg', 'examples/great-wave.jpg', 'weights/vgg19.bin', 'weights/vgg19.json']) {
      expect(existsSync(path.join(ROOT, 'resources', file)), file).toBe(true);
    }
    expect(existsSync(path.join(ROOT, 'NOTICE'))).toBe(true);
  });

  it('flips the Electron fuses: no RunAsNode, NODE_OPTIONS or --inspect; cookie encryption; asar-only with integrity', async () => {
    const config = await builderConfig();
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('targets nsis on Windows, dmg on macOS, AppImage and deb on Linux, with icons under build/', async () => {
    const config = (await builderConfig()) as Record<string, { target?: unknown; icon?: string }>;
    expect(config.win!.target).toBe('nsis');
    expect(config.mac!.target).toBe('dmg');
    expect(config.linux!.target).toEqual(['AppImage', 'deb']);
    for (const [file, size] of [
      ['build/icon.png', 512],
      ['build/icons/512x512.png', 512],
      ['build/icons/256x256.png', 256],
    ] as const) {
      const meta = await sharp(path.join(ROOT, file)).metadata();
      expect([meta.format, meta.width, meta.height], file).toEqual(['png', size, size]);
    }
  });
});

describe('npm run dist', () => {
  const electron = findElectronBinary(ROOT);

  it.skipIf(electron.path !== null)('stops with one clear line saying so where the Electron binary is not installed', () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'dist.mjs')], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    // One line a reason: on an older Node the Node line comes too (node-version.test.ts reads that one).
    expect(lines.every((line) => line.startsWith('dist: ')), result.stderr).toBe(true);
    const binary = lines.filter((line) => /^dist: cannot package: the Electron binary is not installed/.test(line));
    expect(binary).toHaveLength(1);
    expect(binary[0]).toContain('ELECTRON_SKIP_BINARY_DOWNLOAD');
    expect(binary[0]).toContain('npm install');
  });
});
