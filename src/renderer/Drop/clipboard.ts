// Images from the clipboard: from a paste event (always allowed), or read on a button press (may need permission).

import type { ErrorInfo } from '../../shared/api.js';

export interface NamedBlob {
  blob: Blob;
  name: string;
}

const pastedName = (type: string, index: number): string =>
  `pasted-${index + 1}.${type.split('/')[1]?.replace('jpeg', 'jpg') ?? 'png'}`;

export function imagesFromPaste(event: ClipboardEvent): NamedBlob[] {
  const files = Array.from(event.clipboardData?.files ?? []).filter((f) => f.type.startsWith('image/'));
  return files.map((f, i) => ({ blob: f, name: f.name && f.name !== 'image.png' ? f.name : pastedName(f.type, i) }));
}

export async function readClipboardImages(): Promise<NamedBlob[] | ErrorInfo> {
  if (!navigator.clipboard?.read) {
    return { code: 'clipboard-unavailable', message: 'This window cannot read the clipboard directly: press Ctrl+V (⌘V) instead.' };
  }
  try {
    const items = await navigator.clipboard.read();
    const found: NamedBlob[] = [];
    for (const item of items) {
      const type = item.types.find((t) => t.startsWith('image/'));
      if (type) found.push({ blob: await item.getType(type), name: pastedName(type, found.length) });
    }
    if (found.length === 0) return { code: 'clipboard-empty', message: 'The clipboard holds no image. Copy an image first, then paste.' };
    return found;
  } catch {
    return { code: 'clipboard-denied', message: 'Reading the clipboard was not allowed: press Ctrl+V (⌘V) instead.' };
  }
}
