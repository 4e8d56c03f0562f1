// The StudioApi over the browser host's WebSocket (src/shared/ws-protocol.ts), derived from the API table: numbered
// requests, their replies, pushed events.

import { STUDIO_PUSH_NAMES, apiClient, type ApiTransport, type ErrorInfo, type PushName, type RequestMethod, type Result, type StudioApi } from '../../../shared/api.js';
import { MAX_WS_MESSAGE_BYTES, TOKEN_PARAM, decodeWireMessage, encodeWireMessage, wsUrlFor, type WsRequest } from '../../../shared/ws-protocol.js';

interface Pending {
  resolve: (result: Result<unknown>) => void;
}

/** Where this tab keeps the token once it is out of the address bar (sessionStorage: this origin, this tab). */
export const TOKEN_STORAGE_KEY = 'nst-host-token';

/** The parts of the page the token passes through (window's, or a test's). */
export interface TokenPlaces {
  location: Pick<Location, 'href'>;
  history: Pick<History, 'replaceState' | 'state'>;
  /** null where storage is refused (a private window's settings): the token then lives in memory only. */
  storage: Pick<Storage, 'getItem' | 'setItem'> | null;
}

/**
 * The host's access token: read from the address `npm run serve` printed (?token=…) once, kept in this tab's
 * sessionStorage (a reload still works; no other origin, port included, can read it) and taken out of the address
 * bar and its history entry, so it is never shown, bookmarked or sent on. Null when the page has none.
 */
export function takeAccessToken(places: TokenPlaces): string | null {
  const address = new URL(places.location.href);
  const fromAddress = address.searchParams.get(TOKEN_PARAM);
  if (fromAddress) {
    try {
      places.storage?.setItem(TOKEN_STORAGE_KEY, fromAddress);
    } catch {
      // Storage full or refused: the token stays in memory for this page's life.
    }
    address.searchParams.delete(TOKEN_PARAM);
    places.history.replaceState(places.history.state, '', address.pathname + address.search + address.hash);
    return fromAddress;
  }
  try {
    return places.storage?.getItem(TOKEN_STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}

/** The WebSocket address of the host that served this page, with the page's token; throws when there is none. */
export function webSocketUrlFromLocation(places: TokenPlaces): string {
  const token = takeAccessToken(places);
  if (!token) {
    throw new Error(
      'This page was opened without its access token. Open the full address that `npm run serve` printed (it ends in ?token=…).',
    );
  }
  return wsUrlFor(places.location.href, token);
}

const megabytes = (bytes: number): string => `${Math.ceil(bytes / 2 ** 20)} MB`;

const tooLarge = (frameBytes: number): ErrorInfo => ({
  code: 'TOO_LARGE',
  message:
    `This request is about ${megabytes(frameBytes)} on the wire, more than the ${megabytes(MAX_WS_MESSAGE_BYTES)} the studio in a browser takes at once. ` +
    'Use smaller image files (the run scales them down anyway), or the desktop app.',
});

const disconnected = (detail: string): ErrorInfo => ({
  code: 'disconnected',
  message: `Lost the connection to the studio server (${detail}). Check that \`npm run serve\` is still running, then reload.`,
});

/** The StudioApi over a socket to `url`, plus word of the connection dropping. */
export function webSocketApi(url: string): StudioApi & Pick<WebSocketConnection, 'onConnectionError'> {
  const connection = new WebSocketConnection(url);
  return { ...apiClient(connection, STUDIO_PUSH_NAMES), onConnectionError: (listener) => connection.onConnectionError(listener) };
}

/** One socket to the host, opened on first use and again after a drop: requests by id, events by name. */
export class WebSocketConnection implements ApiTransport {
  private socket: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<PushName, Set<(event: unknown) => void>>();
  private readonly disconnectListeners = new Set<(error: ErrorInfo) => void>();

  constructor(private readonly url: string) {}

  subscribe(push: PushName, listener: (event: unknown) => void): () => void {
    let set = this.listeners.get(push);
    if (!set) this.listeners.set(push, (set = new Set()));
    set.add(listener);
    // Events only flow on an open socket: connect now so a subscriber does not wait for its first call.
    void this.connect().catch(() => undefined);
    return () => set.delete(listener);
  }

  /** Subscribes to the connection dropping (or a frame the server could not read); returns the unsubscribe. */
  onConnectionError(listener: (error: ErrorInfo) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  async request(method: RequestMethod, payload: unknown): Promise<Result<unknown>> {
    let socket: WebSocket;
    try {
      socket = await this.connect();
    } catch (error) {
      return { ok: false, error: disconnected(error instanceof Error ? error.message : String(error)) };
    }
    const id = this.nextId++;
    const frame = encodeWireMessage({ id, method, params: payload ?? null } as WsRequest);
    // The host would close the socket on it (1009): say why here instead, and keep the connection.
    if (frame.length > MAX_WS_MESSAGE_BYTES) return { ok: false, error: tooLarge(frame.length) };
    return new Promise<Result<unknown>>((resolve) => {
      this.pending.set(id, { resolve });
      try {
        socket.send(frame);
      } catch (error) {
        this.pending.delete(id);
        resolve({ ok: false, error: disconnected(error instanceof Error ? error.message : String(error)) });
      }
    });
  }

  /** Opens the socket once; after a close, the next call opens a fresh one. */
  private connect(): Promise<WebSocket> {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    if (this.opening) return this.opening;
    this.opening = new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(this.url);
      let opened = false;
      socket.binaryType = 'arraybuffer';
      socket.addEventListener('open', () => {
        opened = true;
        this.socket = socket;
        this.opening = null;
        resolve(socket);
      });
      socket.addEventListener('message', (message) => this.receive(message.data));
      socket.addEventListener('close', (event) => {
        this.opening = null;
        if (this.socket === socket) this.socket = null;
        const detail = event.reason || (opened ? `code ${event.code}` : 'the server refused the connection or is not running');
        if (!opened) return reject(new Error(detail)); // the caller that was waiting reports it
        this.failPending(detail);
        for (const listener of this.disconnectListeners) listener(disconnected(detail));
      });
    });
    return this.opening;
  }

  private receive(data: unknown): void {
    let message: unknown;
    try {
      message = decodeWireMessage(typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer));
    } catch {
      return; // A frame this client cannot read is the server's bug; dropping it beats crashing the page.
    }
    if (typeof message !== 'object' || message === null) return;
    const m = message as { id?: unknown; result?: unknown; event?: unknown; data?: unknown };
    if (typeof m.event === 'string') {
      for (const listener of this.listeners.get(m.event as PushName) ?? []) listener(m.data);
      return;
    }
    if (m.id === null) {
      // The server could not read one of our frames at all; no request can be matched to it, so tell the page.
      const result = m.result as Result<never>;
      if (!result.ok) for (const listener of this.disconnectListeners) listener(result.error);
      return;
    }
    if (typeof m.id === 'number') {
      const pending = this.pending.get(m.id);
      if (!pending) return;
      this.pending.delete(m.id);
      pending.resolve(m.result as Result<unknown>);
    }
  }

  private failPending(detail: string): void {
    const error = disconnected(detail);
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.resolve({ ok: false, error });
    }
  }
}
