// The sandboxed preload: exposes window.api, one named function per call and per event of the API table
// (src/shared/api.ts) and nothing else. Bundled as one CommonJS file that requires only `electron` (a sandboxed
// preload cannot load other modules); the table is bundled in, valibot is not.

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { API, PUSH_NAMES, apiClient, type ApiTransport, type DesktopApi } from '../shared/api.js';
import { fail } from '../shared/result.js';

const ipc: ApiTransport = {
  /** One request; a missing handler or a broken channel also comes back as an error Result, never a rejection. */
  async request(method, payload) {
    try {
      return await ipcRenderer.invoke(API[method].channel, payload);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return fail('IPC_FAILED', `The studio's main process did not answer (${message}).`);
    }
  },
  /** The IpcRendererEvent (which holds ipcRenderer) never reaches the page. */
  subscribe(push, listener) {
    const wrapped = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(API[push].channel, wrapped);
    return () => {
      ipcRenderer.removeListener(API[push].channel, wrapped);
    };
  },
};

// Every push, the app menu's included: this is the desktop app.
const api = apiClient(ipc, PUSH_NAMES);

/** The exact type of window.api in Electron. */
export type Api = typeof api;

// Compile-time: window.api has exactly DesktopApi's members, no more (nothing extra leaks to the page), no fewer.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;
const exactlyDesktopApi: SameKeys<Api, DesktopApi> = true;
void exactlyDesktopApi;

contextBridge.exposeInMainWorld('api', api satisfies DesktopApi);
