// Electron's side of the API table: every call's channel gets one handler behind the same guard (the sender must be
// our window showing our page; the payload is validated once, by the dispatch; whatever happens the answer is a
// Result), and every studio event is forwarded to the window on its channel.

import type { IpcMainInvokeEvent } from 'electron';
import { API, REQUEST_METHODS, STUDIO_PUSH_NAMES, listenerName, type ApiCalls, type RequestMethod, type StudioServices } from '../../shared/api.js';
import { dispatch } from '../../shared/dispatch.js';
import { fail, type Result } from '../../shared/result.js';
import { checkSender, type SenderInfo, type TrustPolicy } from '../security.js';

export type IpcLog = (message: string, error: unknown) => void;

/** The subset of ipcMain used here (tests pass a recorder). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** The handler of one call's channel: the sender checked before anything else, then the dispatch. */
export function ipcHandler(method: RequestMethod, handlers: ApiCalls, policy: TrustPolicy, log: IpcLog = defaultLog): (event: SenderInfo, payload: unknown) => Promise<Result<unknown>> {
  const channel = API[method].channel;
  return async (event, payload) => {
    const refused = checkSender(event, policy);
    if (refused) {
      log(`ipc: refused ${channel}: ${refused.message}`, null);
      return fail(refused.code, refused.message);
    }
    return dispatch(handlers, method, payload, (error) => log(`ipc: ${channel} failed`, error));
  };
}

/** Registers a handler for every call of the table, and nothing else; returns the function that removes them again. */
export function registerIpcHandlers(ipcMain: IpcMainLike, handlers: ApiCalls, policy: TrustPolicy, log: IpcLog = defaultLog): () => void {
  for (const method of REQUEST_METHODS) {
    const handle = ipcHandler(method, handlers, policy, log);
    // Only the first argument is the payload; the preload never sends more.
    ipcMain.handle(API[method].channel, (event, payload) => handle(event, payload));
  }
  return () => REQUEST_METHODS.forEach((method) => ipcMain.removeHandler(API[method].channel));
}

/** Sends every studio event (runEvent, weightsEvent, …) on its channel; returns the function that stops it. */
export function forwardEvents(services: StudioServices, send: (channel: string, payload: unknown) => void): () => void {
  const subscribe = services as unknown as Record<string, (listener: (event: unknown) => void) => () => void>;
  const stops = STUDIO_PUSH_NAMES.map((name) => subscribe[listenerName(name)]!.call(services, (event: unknown) => send(API[name].channel, event)));
  return () => stops.forEach((stop) => stop());
}

function defaultLog(message: string, error: unknown): void {
  if (error) console.error(message, error);
  else console.warn(message);
}
