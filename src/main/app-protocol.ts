// The app:// protocol that serves the built renderer: only files inside out/renderer, each with the CSP header.
// A custom origin instead of file:// keeps the page from reading other local files and gives IPC a sender to check.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CustomScheme } from 'electron';
import { RENDERER_CSP_HEADER } from './csp.js';
import { contentTypeFor } from './mime-types.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'studio';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/**
 * standard + secure: a real origin (so relative URLs, module scripts and 'self' work) that counts as a secure
 * context. Deliberately no bypassCSP, no corsEnabled, no service workers.
 */
export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
};


export type AssetLookup = { ok: true; filePath: string; mimeType: string } | { ok: false; status: 400 | 403 | 404 };

/** Maps an app:// URL to a file inside rendererDir, refusing other hosts and anything that escapes the folder. */
export function resolveAppAsset(requestUrl: string, rendererDir: string): AssetLookup {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { ok: false, status: 400 };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { ok: false, status: 404 };
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, status: 400 };
  }
  if (pathname.includes('\0')) return { ok: false, status: 400 };
  if (pathname === '/' || pathname === '') pathname = '/index.html';
  const root = path.resolve(rendererDir);
  const filePath = path.resolve(root, `.${pathname.replaceAll('\\', '/')}`);
  const relative = path.relative(root, filePath);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return { ok: false, status: 403 };
  const mimeType = contentTypeFor(filePath);
  return { ok: true, filePath, mimeType };
}

/** The protocol handler: GET only; every response carries the CSP and nosniff. fs reads work inside asar too. */
export function createAppRequestHandler(rendererDir: string): (request: Request) => Promise<Response> {
  const headers = (mimeType?: string): Record<string, string> => ({
    'content-security-policy': RENDERER_CSP_HEADER,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
    ...(mimeType ? { 'content-type': mimeType } : {}),
  });
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405, headers: headers() });
    const asset = resolveAppAsset(request.url, rendererDir);
    if (!asset.ok) return new Response(null, { status: asset.status, headers: headers() });
    try {
      const body = await readFile(asset.filePath);
      return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: headers(asset.mimeType) });
    } catch {
      return new Response(null, { status: 404, headers: headers() });
    }
  };
}
