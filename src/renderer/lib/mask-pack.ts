// A MaskSet as text for the window's storage (history entries): each layer gzip-compressed (painted masks are mostly
// flat: a 2048 px layer packs to kilobytes) and base64-encoded; read back exactly, byte for byte.

import type { MaskSet } from '../../shared/api.js';

/** A MaskSet as stored: its size and each layer as base64 of its gzip. */
export interface PackedMasks {
  width: number;
  height: number;
  styles: string[];
  content: string | null;
}

async function through(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([bytes.slice()]).stream().pipeThrough(stream)).arrayBuffer());
}

export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

export async function packMasks(set: MaskSet): Promise<PackedMasks> {
  const pack = async (layer: Uint8Array): Promise<string> => toBase64(await through(layer, new CompressionStream('gzip')));
  return { width: set.width, height: set.height, styles: await Promise.all(set.styles.map(pack)), content: set.content ? await pack(set.content) : null };
}

/** The stored masks read back, or null when they are not whole (another version's, damaged, cut short). */
export async function unpackMasks(value: unknown): Promise<MaskSet | null> {
  const packed = value as Partial<PackedMasks> | null;
  if (!packed || !Number.isSafeInteger(packed.width) || !Number.isSafeInteger(packed.height) || !Array.isArray(packed.styles)) return null;
  const { width, height } = packed as PackedMasks;
  try {
    const unpack = async (text: unknown): Promise<Uint8Array> => {
      if (typeof text !== 'string') throw new TypeError('not a packed layer');
      const layer = await through(fromBase64(text), new DecompressionStream('gzip'));
      if (layer.length !== width * height) throw new RangeError('a layer of another size');
      return layer;
    };
    const styles = await Promise.all(packed.styles.map(unpack));
    const content = packed.content == null ? null : await unpack(packed.content);
    return { width, height, styles, content };
  } catch {
    return null;
  }
}
