// The studio window's options and its remembered bounds: pure functions, so the security settings are unit-tested.

import type { BrowserWindowConstructorOptions, Rectangle } from 'electron';

export const WINDOW_TITLE = 'Neural Style Studio';
/** electron-builder.yml's appId: Windows groups the taskbar entry and its progress bar by it. */
export const APP_ID = 'org.neuralstyle.studio';
export const DEFAULT_SIZE = { width: 1280, height: 820 } as const;
export const MIN_SIZE = { width: 900, height: 600 } as const;

/** What the settings store keeps about the window between launches. */
export interface WindowState {
  bounds: Rectangle | null;
  maximized: boolean;
}

export interface WindowOptionsExtras {
  /** Saved bounds already checked against the displays (see visibleBounds). */
  bounds?: Rectangle | null;
  /** DevTools in development only. */
  devTools?: boolean;
}

/**
 * The one window: isolated, sandboxed, no Node in any frame or worker, web security on, no <webview>, no
 * navigation by dropping a file, shown on ready-to-show (never a white flash).
 */
export function createWindowOptions(preloadPath: string, extras: WindowOptionsExtras = {}): BrowserWindowConstructorOptions {
  const bounds = extras.bounds ?? null;
  return {
    title: WINDOW_TITLE,
    width: bounds?.width ?? DEFAULT_SIZE.width,
    height: bounds?.height ?? DEFAULT_SIZE.height,
    ...(bounds ? { x: bounds.x, y: bounds.y } : { center: true }),
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    backgroundColor: '#1b1b1f',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: extras.devTools ?? false,
    },
  };
}

/**
 * The saved bounds if at least a usable part of them (a 100 × 50 px corner) is on one of today's displays,
 * clamped to that display's size; null (centre on the primary display) when the monitor has gone.
 */
export function visibleBounds(saved: Rectangle | null, workAreas: readonly Rectangle[]): Rectangle | null {
  if (!saved || !isFiniteRect(saved) || saved.width <= 0 || saved.height <= 0) return null;
  for (const area of workAreas) {
    const overlapX = Math.min(saved.x + saved.width, area.x + area.width) - Math.max(saved.x, area.x);
    const overlapY = Math.min(saved.y + saved.height, area.y + area.height) - Math.max(saved.y, area.y);
    if (overlapX >= 100 && overlapY >= 50) {
      return {
        x: saved.x,
        y: saved.y,
        width: Math.max(MIN_SIZE.width, Math.min(saved.width, area.width)),
        height: Math.max(MIN_SIZE.height, Math.min(saved.height, area.height)),
      };
    }
  }
  return null;
}

function isFiniteRect(r: Rectangle): boolean {
  return [r.x, r.y, r.width, r.height].every((v) => typeof v === 'number' && Number.isFinite(v));
}
