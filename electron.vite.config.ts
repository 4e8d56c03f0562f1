// Builds the desktop app into out/main (main process + job worker), out/preload (sandboxed, CommonJS) and
// out/renderer (Svelte). out/cli and out/server are other scripts' outputs: each section empties only its own folder.
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { RENDERER_CSP, metaCsp, normalizeCsp } from './src/main/csp.js';

/** The build layout; src/main/paths.ts resolves the preload, renderer and worker against it (tests check). */
const OUT = {
  main: 'out/main',
  preload: 'out/preload',
  renderer: 'out/renderer',
} as const;

/**
 * Native addons and wasm packages load their own files relative to their package folder, so they stay
 * external (and electron-builder unpacks the native ones from asar); onnxruntime-common must be the one instance
 * onnxruntime-node registers its backend in. `externalizeDeps` externalises every `dependencies` entry, which
 * covers these; they are listed here too so the intent does not hang on the dependency list.
 */
const NATIVE_EXTERNALS = ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common', 'sharp', 'h5wasm'] as const;
const nativeExternal = [...NATIVE_EXTERNALS, ...NATIVE_EXTERNALS.map((name) => new RegExp(`^${name}/`))];

/**
 * Writes the one CSP (src/main/csp.ts, also sent as a header by the app protocol) into the built index.html,
 * replacing whatever meta CSP the source has, so the packaged page cannot carry a different policy.
 */
function rendererCsp(): Plugin {
  const tag = `<meta http-equiv="Content-Security-Policy" content="${RENDERER_CSP}" />`;
  return {
    name: 'nst:renderer-csp',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html) {
        const declared = metaCsp(html);
        if (declared !== null && normalizeCsp(declared) !== normalizeCsp(RENDERER_CSP)) {
          console.warn(`nst: src/renderer/index.html's CSP differs from src/main/csp.ts; the build uses csp.ts's:\n  ${RENDERER_CSP}`);
        }
        const withoutCsp = html.replace(/^[ \t]*<meta\b[^>]*http-equiv\s*=\s*["']Content-Security-Policy["'][^>]*>[ \t]*\r?\n?/gim, '');
        const charset = /<meta\s+charset\b[^>]*>/i.exec(withoutCsp);
        if (!charset) return withoutCsp.replace(/<head[^>]*>/i, (head) => `${head}\n    ${tag}`);
        const at = charset.index + charset[0].length;
        return `${withoutCsp.slice(0, at)}\n    ${tag}${withoutCsp.slice(at)}`;
      },
    },
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: OUT.main,
      emptyOutDir: true,
      target: 'node22',
      sourcemap: true,
      externalizeDeps: true,
      rolldownOptions: {
        // Two entries: the app, and the worker_threads script RunService starts for each job. ES modules (the
        // package is "type": "module"): Electron ≥ 28 loads ESM from app.asar, and since Electron 18 worker threads
        // get the same asar support as the main process.
        input: {
          index: resolve('src/main/index.ts'),
          'job-worker': resolve('src/main/worker/job-worker.ts'),
        },
        external: nativeExternal,
      },
    },
  },
  preload: {
    build: {
      outDir: OUT.preload,
      emptyOutDir: true,
      target: 'node22',
      // A sandboxed preload cannot load modules: everything but `electron` is bundled in, one CommonJS file.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    plugins: [svelte(), rendererCsp()],
    build: {
      outDir: OUT.renderer,
      emptyOutDir: true,
      target: 'chrome140',
      rolldownOptions: {
        input: { index: resolve('src/renderer/index.html') },
      },
    },
  },
});
