// Builds the renderer alone (`vite build -c vite.renderer.config.ts`) into out/renderer, as electron-vite does, for
// the browser host and the renderer E2E tests when the Electron toolchain is not wanted.
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

/**
 * The dev server injects CSS as <style> elements (the build emits files), which index.html's CSP forbids; in
 * `vite serve` only, allow inline styles so the page is styled. Built pages keep the strict policy.
 */
function devInlineStyles(): Plugin {
  return {
    name: 'nst:dev-inline-styles',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  };
}

export default defineConfig({
  root: path.join(root, 'src/renderer'),
  // Relative asset URLs: the same bundle loads from file:// in Electron and from http:// in the browser host.
  base: './',
  plugins: [svelte(), devInlineStyles()],
  build: {
    outDir: path.join(root, 'out/renderer'),
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: true,
  },
});
