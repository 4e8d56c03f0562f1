// What every IPC handler is: (context, unvalidated payload) → Result. The context is injected, so handlers are
// plain functions that tests call with fakes and that never import Electron.

import type { ErrorInfo, ExportImageRequest, ExportVideoRequest, Result, StudioApi } from '../../shared/ipc.js';
import type { StudioServices } from '../services-port.js';

/** The StudioApi methods that are requests (everything but the `on…` push subscriptions). */
export type InvokeMethod = Exclude<keyof StudioApi, `on${string}`>;

/** What method M resolves to across the bridge. */
export type ResultOf<M extends InvokeMethod> = StudioApi[M] extends (...args: never[]) => Promise<infer R> ? R : never;

export interface SaveTarget {
  /** Suggested file name, with the format's extension. */
  defaultName: string;
  format: ExportImageRequest['format'] | ExportVideoRequest['format'];
}

export interface IpcContext {
  readonly services: StudioServices;
  /** Asks the user where to save (a native save dialog); null when they cancel. The only source of write paths. */
  chooseSavePath(target: SaveTarget): Promise<string | null>;
  /** Writes bytes to a path the user chose: a temp file beside it, then a rename, so no half-written file remains. */
  writeFileAtomic(filePath: string, bytes: Uint8Array): Promise<void>;
}

export type Handler<M extends InvokeMethod> = (context: IpcContext, payload: unknown) => Promise<ResultOf<M>>;

/** One handler per request method: a missing or an extra one is a compile error. */
export type HandlerTable = { readonly [M in InvokeMethod]: Handler<M> };

export const failure = <T>(error: ErrorInfo): Result<T> => ({ ok: false, error });
