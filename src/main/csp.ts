// The renderer's Content-Security-Policy: one table, served as a header by the app protocol and required as a
// <meta> in index.html (the build checks the two agree), so neither can drift from the other.

/**
 * Only the app's own files run or load. Images may be data:/blob: URLs (previews and thumbnails are bytes the
 * renderer wraps); styles allow inline because Svelte and uPlot set style attributes; no eval, no wasm, no
 * frames, no plugins, no forms, no <base>. connect-src 'self' also covers the browser host's same-origin
 * WebSocket (CSP3; Chromium since 71).
 */
export const CSP_DIRECTIVES: ReadonlyArray<readonly [string, ...string[]]> = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  ['style-src', "'self'", "'unsafe-inline'"],
  ['img-src', "'self'", 'data:', 'blob:'],
  ['font-src', "'self'", 'data:'],
  ['media-src', "'self'", 'blob:'],
  ['connect-src', "'self'"],
  ['worker-src', "'self'"],
  ['object-src', "'none'"],
  ['frame-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
];

/** The policy as index.html's `<meta http-equiv="Content-Security-Policy" content="…">` must carry it. */
export const RENDERER_CSP: string = CSP_DIRECTIVES.map((d) => d.join(' ')).join('; ');

/** The policy as a response header: the meta policy plus what only a header can say (a meta tag ignores it). */
export const RENDERER_CSP_HEADER: string = `${RENDERER_CSP}; frame-ancestors 'none'`;

/** A policy string with its spacing and separators made canonical, for comparing two spellings. */
export function normalizeCsp(policy: string): string {
  return policy
    .split(';')
    .map((d) => d.trim().split(/\s+/).join(' '))
    .filter((d) => d.length > 0)
    .join('; ');
}

/** The CSP a built or source index.html declares in its meta tag, or null when it has none. */
export function metaCsp(html: string): string | null {
  const tag = /<meta\b[^>]*http-equiv\s*=\s*["']Content-Security-Policy["'][^>]*>/i.exec(html)?.[0];
  if (!tag) return null;
  const content = /\bcontent\s*=\s*"([^"]*)"|\bcontent\s*=\s*'([^']*)'/i.exec(tag);
  return content ? (content[1] ?? content[2] ?? '').trim() : null;
}
