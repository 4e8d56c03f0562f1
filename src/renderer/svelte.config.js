// Svelte compiler options. It sits in the renderer's Vite root, where electron-vite, vite.renderer.config.ts and
// svelte-check all look for it. (Svelte 5 strips <script lang="ts"> types itself: no preprocessor needed.)

export default {
  compilerOptions: {
    // Every component in this app uses runes; no legacy `export let` / `$:` anywhere.
    runes: true,
  },
};
