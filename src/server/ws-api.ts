// One WebSocket connection speaking src/shared/ws-protocol.ts: each call of the API table dispatched (validated
// once, answered with a Result), each studio event pushed. Nothing a client sends can throw out of here.

import type { WebSocket } from 'ws';
import { REQUEST_METHODS, STUDIO_PUSH_NAMES, isRequestMethod, listenerName, type StudioServices } from '../shared/api.js';
import { apiHandlers, dispatch } from '../shared/dispatch.js';
import { fail } from '../shared/result.js';
import { decodeWireMessage, encodeWireMessage, type WsEvent, type WsServerMessage } from '../shared/ws-protocol.js';
import type { ExportSources } from '../main/services/studio-backend.js';
import { downloadCalls } from './downloads.js';

/** What the host serves: the services' calls and events, and the exports it hands out as downloads (StudioBackend has them). */
export type HostBackend = { readonly services: StudioServices } & Pick<ExportSources, 'renderExport' | 'exportVideoBytes'>;

/** Past this much unsent data on a socket, progress events go out without their preview. */
const BACKLOG_BYTES = 8 * 1024 * 1024;

export function serveApi(socket: WebSocket, backend: HostBackend): void {
  const handlers = apiHandlers(backend.services, downloadCalls(backend));
  const send = (message: WsServerMessage): void => {
    if (socket.readyState !== socket.OPEN) return;
    socket.send(encodeWireMessage(message));
  };

  const subscribe = backend.services as unknown as Record<string, (listener: (event: unknown) => void) => () => void>;
  const subscriptions = STUDIO_PUSH_NAMES.map((name) =>
    subscribe[listenerName(name)]!((data) => {
      // A backed-up socket gets progress without pictures rather than an ever longer queue.
      const thin = socket.bufferedAmount > BACKLOG_BYTES && hasPreview(data) ? { ...data, preview: null } : data;
      send({ event: name, data: thin } as WsEvent);
    }),
  );
  const unsubscribe = (): void => subscriptions.forEach((stop) => stop());
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);

  socket.on('message', (raw, isBinary) => {
    if (isBinary) {
      send({ id: null, result: fail('BAD_REQUEST', 'Binary frames are not part of the protocol: send JSON text.') });
      return;
    }
    let message: unknown;
    try {
      message = decodeWireMessage(rawText(raw));
    } catch (error) {
      send({ id: null, result: fail('BAD_REQUEST', `The frame is not valid JSON (${(error as Error).message}).`) });
      return;
    }
    const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      send({ id: null, result: fail('BAD_REQUEST', 'A request needs an integer "id".') });
      return;
    }
    const { method, params } = message as { method?: unknown; params?: unknown };
    if (!isRequestMethod(method)) {
      send({ id, result: fail('BAD_REQUEST', `Unknown method ${JSON.stringify(method)}: use one of ${REQUEST_METHODS.join(', ')}.`) });
      return;
    }
    void dispatch(handlers, method, params, (error) => console.error(`[serve] ${method} failed:`, error)).then((result) => send({ id, result }));
  });
}

function hasPreview(data: unknown): data is { preview: unknown } {
  return typeof data === 'object' && data !== null && 'preview' in data && (data as { preview: unknown }).preview != null;
}

function rawText(raw: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw as ArrayBuffer).toString('utf8');
}
