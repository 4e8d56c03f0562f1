// Serves the built renderer (out/renderer) read-only, with a strict Content-Security-Policy on every response.

import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { RENDERER_CSP_HEADER } from '../main/csp.js';
import { contentTypeFor } from '../main/mime-types.js';


/**
 * The renderer's one policy (src/main/csp.ts: the same table Electron's app:// protocol sends and index.html's
 * meta tag carries): only its own files, previews as data:/blob:, its own host for connect-src (CSP3 'self'
 * covers the same-origin API socket), no framing.
 */
export function contentSecurityPolicy(): string {
  return RENDERER_CSP_HEADER;
}

/** Headers every response carries (the 401 page included). */
export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(),
    'X-Content-Type-Options': 'nosniff',
    // The page URL carries the access token: it must never leave in a Referer header.
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

/** Answers GET/HEAD for a file under `root`; '/' is index.html. Never serves outside root or dotfiles. */
export async function serveStatic(root: string, urlPath: string, method: string, response: ServerResponse, headers: Record<string, string>): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return sendText(response, 400, 'Bad path.', headers);
  }
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const resolvedRoot = path.resolve(root);
  const target = path.resolve(resolvedRoot, relative);
  const inside = target.startsWith(resolvedRoot + path.sep);
  if (!inside || relative.split(/[\\/]/).some((part) => part.startsWith('.')) || decoded.includes('\0')) {
    return sendText(response, 404, 'Not found.', headers);
  }
  let body: Buffer;
  try {
    const info = await stat(target);
    if (!info.isFile()) return sendText(response, 404, 'Not found.', headers);
    body = await readFile(target);
  } catch {
    if (relative === 'index.html') {
      return sendText(response, 503, `The renderer is not built: ${path.join(resolvedRoot, 'index.html')} is missing. Run \`npm run serve\` (it builds it) or \`npx electron-vite build\`.`, headers);
    }
    return sendText(response, 404, 'Not found.', headers);
  }
  const type = contentTypeFor(target);
  response.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': String(body.length) });
  response.end(method === 'HEAD' ? undefined : body);
}

export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  const body = Buffer.from(`${text}\n`, 'utf8');
  response.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length) });
  response.end(body);
}
