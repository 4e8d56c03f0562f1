// The browser host: an HTTP server for the built renderer and a WebSocket for the StudioApi behind a random token.
// Loopback only unless asked otherwise.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_WS_MESSAGE_BYTES, TOKEN_PARAM, WS_PATH } from '../shared/ws-protocol.js';
import { allowedHostNames, hostHeaderAllowed } from './host-names.js';
import { securityHeaders, sendText, serveStatic } from './static-files.js';
import { serveApi, type HostBackend } from './ws-api.js';

export const DEFAULT_HOST = '127.0.0.1';

export interface StudioHostOptions {
  backend: HostBackend;
  /** The built renderer (index.html and assets). */
  rendererDir: string;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Access token; a fresh random one by default. */
  token?: string;
  /** Host names to answer besides this machine's own (--allow-host): a DNS name it is reached by. */
  allowHosts?: readonly string[];
  /** DEFAULT_HOST_LIMITS unless given (tests shorten the timeouts). */
  limits?: Partial<HostLimits>;
}

/** What one host takes at once and how long it waits: whoever connects, token or not, cannot make it hold more. */
export interface HostLimits {
  /** Open WebSockets (each may have a frame of maxMessageBytes in flight); past it an upgrade gets 503. */
  maxSockets: number;
  /** TCP connections, sockets included; past it a new one is closed unanswered. */
  maxConnections: number;
  /** A request's headers (an upgrade's too) must arrive within this; else 408 and the connection closes. */
  headersTimeoutMs: number;
  /** Sockets are pinged this often; one that has not answered the previous ping is closed (half-open). */
  heartbeatMs: number;
  /** The largest frame taken; a larger one closes the socket (1009). */
  maxMessageBytes: number;
}

export const DEFAULT_HOST_LIMITS: HostLimits = {
  // A page keeps one socket; a few tabs, reconnects and a script of the user's own fit.
  maxSockets: 4,
  maxConnections: 64,
  headersTimeoutMs: 10_000,
  heartbeatMs: 20_000,
  maxMessageBytes: MAX_WS_MESSAGE_BYTES,
};

export interface StudioHost {
  /** The page URL, token included: the one thing to open. */
  readonly url: string;
  readonly token: string;
  /** The address actually bound. */
  readonly address: string;
  readonly port: number;
  readonly loopbackOnly: boolean;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startStudioHost(options: StudioHostOptions): Promise<StudioHost> {
  const bindHost = options.host ?? DEFAULT_HOST;
  const limits = { ...DEFAULT_HOST_LIMITS, ...options.limits };
  const token = options.token ?? randomBytes(24).toString('base64url');
  const loopbackOnly = isLoopback(bindHost);
  let port = 0;
  let hostNames = new Set<string>();

  const tokenOk = (candidate: string | null | undefined): boolean => {
    if (!candidate) return false;
    const a = Buffer.from(candidate);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  // Only the names this host is reached by (host-names.ts): a DNS-rebinding page (evil.example → this machine) is
  // refused on every binding, 0.0.0.0 included.
  const hostAllowed = (request: IncomingMessage): boolean => hostHeaderAllowed(request.headers.host, hostNames, port);

  // The page and its files are the app's public code and hold no secret; only the WebSocket needs the token. The
  // page takes the token from its address once and keeps it in the tab (src/renderer/lib/api/ws-client.ts): no
  // cookie carries it, since a cookie for 127.0.0.1 would go to every other server on 127.0.0.1 whatever its port.
  const timeouts = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.headersTimeoutMs,
    // How often Node looks for connections past those timeouts (its default, 30 s, would let thousands pile up).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 4)),
  };
  const server = createServer(timeouts, (request, response) => {
    const headers = securityHeaders();
    const url = new URL(request.url ?? '/', 'http://host.invalid');
    if (!hostAllowed(request)) return sendText(response, 403, 'This host name is not allowed.', headers);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return sendText(response, 405, 'Only GET and HEAD are served.', headers);
    }
    if (url.pathname === WS_PATH) return sendText(response, 426, 'This is the WebSocket endpoint.', headers);
    serveStatic(options.rendererDir, url.pathname, request.method, response, headers).catch((error: unknown) => {
      if (!response.headersSent) sendText(response, 500, `Could not serve the file: ${(error as Error).message}`, headers);
      else response.destroy();
    });
  });

  server.maxConnections = limits.maxConnections;

  const sockets = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  // Pinged every heartbeat; one that missed the last ping is gone without a FIN (a sleeping laptop, a dropped
  // network, a client that never reads) and is closed. Browsers answer pings by themselves.
  const answered = new WeakSet<WebSocket>();
  const heartbeat = setInterval(() => {
    for (const ws of sockets.clients) {
      if (!answered.has(ws)) {
        ws.terminate();
        continue;
      }
      answered.delete(ws);
      ws.ping();
    }
  }, limits.heartbeatMs);
  heartbeat.unref();
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://host.invalid');
    if (url.pathname !== WS_PATH) return refuse(socket, 404, 'Not Found');
    if (!hostAllowed(request)) return refuse(socket, 403, 'Forbidden');
    if (!tokenOk(url.searchParams.get(TOKEN_PARAM))) return refuse(socket, 401, 'Unauthorized');
    // A page from another origin (another local server, say) may not drive the studio even with the token.
    const origin = request.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, request.headers.host)) return refuse(socket, 403, 'Forbidden');
    if (sockets.clients.size >= limits.maxSockets) return refuse(socket, 503, 'Service Unavailable');
    sockets.handleUpgrade(request, socket, head, (ws) => {
      answered.add(ws);
      ws.on('pong', () => answered.add(ws));
      serveApi(ws, options.backend);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  port = bound.port;
  hostNames = allowedHostNames({ bindHost, boundAddress: bound.address, extra: options.allowHosts ?? [] });
  const shownHost = bound.address === '0.0.0.0' || bound.address === '::' ? DEFAULT_HOST : bound.address;
  const urlHost = shownHost.includes(':') ? `[${shownHost}]` : shownHost;

  return {
    url: `http://${urlHost}:${port}/?${TOKEN_PARAM}=${encodeURIComponent(token)}`,
    token,
    address: bound.address,
    port,
    loopbackOnly,
    close: async () => {
      clearInterval(heartbeat);
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function refuse(socket: Socket, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
