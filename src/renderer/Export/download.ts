// Saves bytes the browser host sent back as a file download (the browser decides where, usually Downloads).

export function downloadBytes(bytes: Uint8Array, fileName: string, mimeType?: string): void {
  const type = mimeType ?? (/\.jpe?g$/i.test(fileName) ? 'image/jpeg' : 'image/png');
  const url = URL.createObjectURL(new Blob([bytes.slice()], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once click() returns; a short delay covers browsers that read it lazily.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
