// Finds the studio API: the Electron preload's window.api when present, else a WebSocket client to the browser host.

import type { DesktopApi, ErrorInfo, MenuAction, StudioApi } from '../../../shared/api.js';
import { webSocketApi, webSocketUrlFromLocation } from './ws-client.js';

declare global {
  interface Window {
    /** Set by the Electron preload through contextBridge; absent in a plain browser. */
    api?: DesktopApi;
  }
}

/** The API plus what only one host offers: the app menu (Electron), connection loss (browser host). */
export interface HostApi extends StudioApi {
  onMenuAction?: (listener: (action: MenuAction) => void) => () => void;
  onConnectionError?: (listener: (error: ErrorInfo) => void) => () => void;
}

let instance: HostApi | null = null;

/** The one API of this page. Throws (with a sentence to show) when opened in a browser without the host's token. */
export function getApi(): HostApi {
  instance ??= window.api ?? webSocketApi(webSocketUrlFromLocation({ location: window.location, history: window.history, storage: sessionStorageOrNull() }));
  return instance;
}

/** The tab's sessionStorage, or null where reading it throws (storage turned off). */
function sessionStorageOrNull(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
