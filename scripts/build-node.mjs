// Bundles the browser host (out/server/serve.js) and its job worker (out/server/job-worker.js) for Node;
// native and wasm packages stay external (they load their own files), as in the CLI bundle.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['onnxruntime-node', 'onnxruntime-web', 'sharp', 'h5wasm', 'h5wasm/node', 'ws', 'bufferutil', 'utf-8-validate'],
  banner: { js: "import { createRequire as __nstCreateRequire } from 'node:module'; const require = __nstCreateRequire(import.meta.url);" },
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: ['src/server/index.ts'], outfile: 'out/server/serve.js' }),
  build({ ...common, entryPoints: ['src/main/worker/job-worker.ts'], outfile: 'out/server/job-worker.js' }),
]);
