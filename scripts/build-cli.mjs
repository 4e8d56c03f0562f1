// Bundles the CLI into out/cli/nst.js; native and wasm packages stay external (they load their own files).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/index.ts'],
  outfile: 'out/cli/nst.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['onnxruntime-node', 'onnxruntime-web', 'sharp', 'h5wasm', 'h5wasm/node'],
  banner: { js: "import { createRequire as __nstCreateRequire } from 'node:module'; const require = __nstCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
