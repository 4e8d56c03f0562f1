// Encodes a run's image (finished, or the current one of a running run) to PNG/JPEG bytes at an optional size, one
// export at a time. Where the bytes go is the caller's business: Electron writes them where a save dialog says; the
// browser host hands them to the page as a download.

import sharp from 'sharp';
import { chwToHwcUint8, encodeImage, hwcUint8ToChw, type PlanarImage } from '../../engine/index.js';
import type { ExportImageRequest, Result } from '../../shared/api.js';
import { exportBaseName } from '../../shared/export-names.js';
import { fail } from '../../shared/result.js';

export interface ExportedImage {
  bytes: Uint8Array;
  format: 'png' | 'jpeg';
  mimeType: 'image/png' | 'image/jpeg';
  width: number;
  height: number;
  /** A suggested file name (no folder): `<runId>.png`. */
  fileName: string;
}

/** The one thing the export needs from the run service. */
export interface RunImageSource {
  runImage(runId: string): Promise<Result<PlanarImage>>;
}

const JPEG_QUALITY = 92;

export class ExportService {
  /** An export at 8192 px holds about a gigabyte while it encodes: one at a time, the others told to wait. */
  private busy = false;

  constructor(private readonly images: RunImageSource) {}

  async exportImage({ runId, format, sizePx }: ExportImageRequest): Promise<Result<ExportedImage>> {
    if (this.busy) return fail('EXPORT_BUSY', 'An image is being exported already: export this one when it is done.');
    this.busy = true;
    try {
      return await this.encode({ runId, format, sizePx });
    } finally {
      this.busy = false;
    }
  }

  private async encode({ runId, format, sizePx }: ExportImageRequest): Promise<Result<ExportedImage>> {
    const source = await this.images.runImage(runId);
    if (!source.ok) return source;
    try {
      const image = sizePx === null ? source.value : await resizeLongestSide(source.value, sizePx);
      const bytes = await encodeImage(image, format, { quality: JPEG_QUALITY });
      return {
        ok: true,
        value: {
          bytes: new Uint8Array(bytes),
          format,
          mimeType: format === 'png' ? 'image/png' : 'image/jpeg',
          width: image.width,
          height: image.height,
          fileName: `${exportBaseName(runId)}.${format === 'png' ? 'png' : 'jpg'}`,
        },
      };
    } catch (error) {
      return { ok: false, error: { code: 'EXPORT_FAILED', message: `The image could not be encoded: ${error instanceof Error ? error.message : String(error)}` } };
    }
  }
}

/** Scales so the longest side is `sizePx` (up or down, Lanczos3 in libvips: fast even at 8k). */
export async function resizeLongestSide(image: PlanarImage, sizePx: number): Promise<PlanarImage> {
  const scale = sizePx / Math.max(image.width, image.height);
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  if (width === image.width && height === image.height) return image;
  const { data, info } = await sharp(chwToHwcUint8(image.data, image.width, image.height), { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize({ width, height, fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: hwcUint8ToChw(data, info.width, info.height, info.channels) };
}
