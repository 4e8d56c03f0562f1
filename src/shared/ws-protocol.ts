// The browser host's wire protocol: StudioApi over one WebSocket, as JSON text frames. Both ends (src/server and
// the renderer's WebSocket client) implement it from this one definition. Pure: no Node, no DOM types needed.
//
// Connecting
//   `npm run serve` prints `http://HOST:PORT/?token=TOKEN`. The page and its files are served without the token
//   (they hold no secret); the page takes the token out of its address once (keeping it in the tab's
//   sessionStorage, never in a cookie) and opens `ws://HOST:PORT/api?token=TOKEN` (wsUrlFor builds it). A
//   missing or wrong token gets an HTTP 401 on the upgrade (the socket never opens); a cross-origin page gets 403.
//
// Frames (all text, JSON, encoded by encodeWireMessage / decoded by decodeWireMessage)
//   client → server   { id: number, method, params: <the call's one argument, or null> }   a call of api.ts
//   server → client   { id: number, result: Result<T> }          the reply to request `id`, exactly once
//                     { id: null, result: { ok: false, error } }  a frame that could not be read at all
//                     { event, data }                            an event of api.ts (runEvent, weightsEvent, …)
//                                                                pushed to every connected client
//   `id` is chosen by the client (any integer, unique among its pending requests). Replies may come out of
//   order (an export can finish after a later pause). Events for a run may arrive before the startRun reply
//   that names it: key state by runId and tolerate that.
//
// Binary data
//   Every Uint8Array anywhere in a message (image bytes, preview JPEGs, exported files) travels as the object
//   { "$bytes": "<standard base64, with padding>" }. encodeWireMessage / decodeWireMessage do this both ways,
//   so the decoded value has the same shape as the StudioApi types (Uint8Array fields included). Base64 costs a
//   third more bytes but keeps every frame one self-describing JSON text; previews are small JPEGs.
//
// Limits
//   A frame may be at most MAX_WS_MESSAGE_BYTES (room for one image of the schemas' MAX_IMAGE_BYTES); a larger one
//   closes the socket (1009), and the client refuses to send one (TOO_LARGE). A request carrying more image bytes
//   than that in all (a large photo and large styles) needs the desktop app. When the socket is backed up, the
//   server may send progress events with `preview: null` rather than queue more frames.

import type { EventOf, RequestMethod, RequestOf, StudioPushName } from './api.js';
import type { Result } from './result.js';
import { MAX_IMAGE_BYTES } from './schemas.js';

/** Path of the WebSocket endpoint on the host's HTTP server. */
export const WS_PATH = '/api';
/** Query parameter (page URL and WebSocket URL) carrying the access token. */
export const TOKEN_PARAM = 'token';
/** What a request holds besides its image bytes, at most: settings, names (1024 characters each), JSON. */
const MAX_FRAME_OVERHEAD_BYTES = 1024 * 1024;
/**
 * Largest frame the server accepts: the largest image the schemas take (MAX_IMAGE_BYTES) as base64 and the request
 * around it. Bigger frames would be bytes no request may carry; each one costs the host several times its size.
 */
export const MAX_WS_MESSAGE_BYTES = Math.ceil(MAX_IMAGE_BYTES / 3) * 4 + MAX_FRAME_OVERHEAD_BYTES;

/** A request: one per method, so `params` is checked against `method` (null for calls without a payload). */
export type WsRequest<M extends RequestMethod = RequestMethod> = M extends RequestMethod ? { id: number; method: M; params: RequestOf<M> | null } : never;

/** The reply to request `id` (null: a frame too malformed to have a usable id). */
export interface WsResponse {
  id: number | null;
  result: Result<unknown>;
}

/** A pushed event, named by its row in the API table. */
export type WsEvent = { [P in StudioPushName]: { event: P; data: EventOf<P> } }[StudioPushName];

export type WsServerMessage = WsResponse | WsEvent;

/**
 * The WebSocket URL for a page URL and a token (`http://h:p/`, T → `ws://h:p/api?token=T`); without `token`, the
 * page URL's own (`http://h:p/?token=T`).
 */
export function wsUrlFor(pageUrl: string, token?: string): string {
  const page = new URL(pageUrl);
  token ??= page.searchParams.get(TOKEN_PARAM) ?? '';
  const url = new URL(WS_PATH, page);
  url.protocol = page.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.searchParams.set(TOKEN_PARAM, token);
  return url.toString();
}

const BYTES_TAG = '$bytes';

/** JSON text for a message, with every Uint8Array as { "$bytes": base64 }. */
export function encodeWireMessage(message: WsRequest | WsServerMessage): string {
  return JSON.stringify(message, (_key, value: unknown) => (value instanceof Uint8Array ? { [BYTES_TAG]: bytesToBase64(value) } : value));
}

/**
 * Parses a frame, turning every { "$bytes": base64 } back into a Uint8Array. Throws SyntaxError on text that
 * is not JSON or base64 that is not valid; the shape is for the receiver to check (the server validates).
 */
export function decodeWireMessage(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      if (keys.length === 1 && keys[0] === BYTES_TAG && typeof record[BYTES_TAG] === 'string') return base64ToBytes(record[BYTES_TAG]);
    }
    return value;
  });
}

interface BufferLike {
  from(data: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64'): string };
  from(data: string, encoding: 'base64'): Uint8Array;
}

/** Node's Buffer where present (fast); the browser's btoa/atob otherwise. */
const nodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

export function bytesToBase64(bytes: Uint8Array): string {
  // A view on the same memory: no copy of a large image before encoding.
  if (nodeBuffer) return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function base64ToBytes(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new SyntaxError('A $bytes field is not valid base64.');
  if (nodeBuffer) {
    const decoded = nodeBuffer.from(text, 'base64');
    // A plain Uint8Array (not a Buffer view on a shared pool), so it can be kept or transferred.
    return new Uint8Array(decoded);
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
