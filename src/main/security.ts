// Who may talk to the main process and where the window may go: pure checks, plus the one function that
// wires them onto a window's webContents and session. Only the app's own page, in our own window, is trusted.

import type { Session, WebContents } from 'electron';
import { APP_ORIGIN } from './app-protocol.js';
import { RENDERER_CSP_HEADER } from './csp.js';
import type { ErrorInfo } from '../shared/api.js';

/** What counts as "our app": the app:// origin, the Vite dev server's origin in development, our windows. */
export interface TrustPolicy {
  /** Origins the renderer is served from (APP_ORIGIN; plus the dev server's while developing). */
  readonly origins: ReadonlySet<string>;
  /** Whether a webContents id belongs to a window this app created. */
  isOwnWebContents(id: number): boolean;
}

export function trustPolicy(options: { devServerUrl?: string | null; isOwnWebContents(id: number): boolean }): TrustPolicy {
  const origins = new Set([APP_ORIGIN]);
  const dev = options.devServerUrl ? originOf(options.devServerUrl) : null;
  if (dev) origins.add(dev);
  return { origins, isOwnWebContents: options.isOwnWebContents };
}

/** The origin of a URL as a string ('app://studio', 'http://localhost:5173'), or null when it has none. */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    // Node's URL gives non-special schemes an opaque origin ("null") and keeps their host's case; Chromium
    // treats app: as a standard scheme, whose host is case-insensitive.
    if (!parsed.host) return null;
    return `${parsed.protocol}//${parsed.host.toLowerCase()}`;
  } catch {
    return null;
  }
}

export function isTrustedUrl(url: string, policy: TrustPolicy): boolean {
  const origin = originOf(url);
  return origin !== null && policy.origins.has(origin);
}

/** The parts of an IpcMainInvokeEvent the sender check reads (a fake in tests, the real event in the app). */
export interface SenderInfo {
  readonly sender: { readonly id: number };
  readonly senderFrame: { readonly url: string; readonly parent: unknown } | null;
}

/**
 * Null when the message comes from the top frame of one of our windows showing our page; otherwise why not.
 * A frame that navigated away or was destroyed (senderFrame null) is refused too.
 */
export function checkSender(event: SenderInfo, policy: TrustPolicy): ErrorInfo | null {
  const frame = event.senderFrame;
  if (!frame) return { code: 'forbidden-sender', message: 'The request came from a page that is no longer open.' };
  if (!policy.isOwnWebContents(event.sender.id)) {
    return { code: 'forbidden-sender', message: 'The request did not come from a Neural Style Studio window.' };
  }
  if (frame.parent !== null) return { code: 'forbidden-sender', message: 'The request came from an embedded frame.' };
  if (!isTrustedUrl(frame.url, policy)) {
    return { code: 'forbidden-sender', message: `The request came from a page outside the app (${originOf(frame.url) ?? 'no origin'}).` };
  }
  return null;
}

/** Permissions the page may have, and only from our origin: reading and writing the clipboard (paste an image). */
const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-read', 'clipboard-sanitized-write']);

export function isPermissionAllowed(permission: string, requestingUrl: string, policy: TrustPolicy): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && isTrustedUrl(requestingUrl, policy);
}

/**
 * Navigation is never needed: the studio is one page. In-page navigations (hash changes) do not reach
 * will-navigate; anything else — a dropped file, a link, a script setting location — is refused.
 */
export function isNavigationAllowed(_url: string): boolean {
  return false;
}

/** Sets the CSP header on every response the session receives, and denies permissions and devices. */
export function hardenSession(session: Session, policy: TrustPolicy): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders = { ...details.responseHeaders };
    for (const key of Object.keys(responseHeaders)) {
      if (key.toLowerCase() === 'content-security-policy') delete responseHeaders[key];
    }
    responseHeaders['Content-Security-Policy'] = [RENDERER_CSP_HEADER];
    callback({ responseHeaders });
  });
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(isPermissionAllowed(permission, details.requestingUrl, policy));
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => isPermissionAllowed(permission, requestingOrigin, policy));
  session.setDevicePermissionHandler(() => false);
}

/** Blocks navigation, new windows, redirects and <webview> on one webContents. */
export function hardenWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => {
    if (!isNavigationAllowed(event.url)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isNavigationAllowed(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}
