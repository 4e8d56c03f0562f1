// The studio's keyboard shortcuts, one table: the page's key handler acts on them (in Electron and in a browser) and
// the Electron app menu shows the same keys as its accelerators, so the two can never disagree.

export type ShortcutId = 'open-content' | 'open-style' | 'export-image' | 'export-video' | 'start' | 'pause' | 'stop';

export interface Shortcut {
  id: ShortcutId;
  /** The menu item's words. */
  label: string;
  /** KeyboardEvent.key, lower case, pressed with Ctrl (Cmd on macOS). */
  key: string;
  shift: boolean;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { id: 'open-content', label: 'Open Content Image…', key: 'o', shift: false },
  { id: 'open-style', label: 'Open Style Images…', key: 'o', shift: true },
  { id: 'export-image', label: 'Export Image…', key: 'e', shift: false },
  { id: 'export-video', label: 'Export Video…', key: 'e', shift: true },
  { id: 'start', label: 'Start', key: 'enter', shift: false },
  { id: 'pause', label: 'Pause or Resume', key: 'p', shift: false },
  { id: 'stop', label: 'Stop', key: '.', shift: false },
];

export function shortcut(id: ShortcutId): Shortcut {
  return SHORTCUTS.find((s) => s.id === id)!;
}

/** Electron's accelerator for it ("CmdOrCtrl+Shift+E"). */
export function accelerator(s: Shortcut): string {
  const key = s.key === 'enter' ? 'Enter' : s.key.toUpperCase();
  return `CmdOrCtrl+${s.shift ? 'Shift+' : ''}${key}`;
}

/** How the page and the docs write it ("Ctrl+Shift+E"; "⌘⇧E" on macOS). */
export function keysLabel(s: Shortcut, mac = false): string {
  const key = s.key === 'enter' ? (mac ? '↩' : 'Enter') : s.key.toUpperCase();
  return mac ? `⌘${s.shift ? '⇧' : ''}${key}` : `Ctrl+${s.shift ? 'Shift+' : ''}${key}`;
}

/** The shortcut a key press means, if any: Ctrl or Cmd with the key (and Shift when the shortcut has it), no Alt. */
export function shortcutOf(event: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): ShortcutId | null {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return null;
  const key = event.key.toLowerCase();
  return SHORTCUTS.find((s) => s.key === key && s.shift === event.shiftKey)?.id ?? null;
}

/**
 * The mask editor's undo and redo: Ctrl/Cmd+Z, Ctrl/Cmd+Shift+Z and Ctrl+Y. Page-only, taken while the editor is on
 * and focus is not in a text field: the app menu's Edit › Undo and Redo keep these keys for text fields.
 */
export type EditorShortcutId = 'mask-undo' | 'mask-redo';

export const EDITOR_SHORTCUTS: readonly { id: EditorShortcutId; label: string; keys: string }[] = [
  { id: 'mask-undo', label: 'Undo a mask edit', keys: 'Ctrl+Z' },
  { id: 'mask-redo', label: 'Redo a mask edit', keys: 'Ctrl+Shift+Z or Ctrl+Y' },
];

export function editorShortcutOf(event: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): EditorShortcutId | null {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return null;
  const key = event.key.toLowerCase();
  if (key === 'z') return event.shiftKey ? 'mask-redo' : 'mask-undo';
  if (key === 'y' && !event.shiftKey) return 'mask-redo';
  return null;
}
