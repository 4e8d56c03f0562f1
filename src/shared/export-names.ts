// The name a run's exports go by, in both hosts (a save dialog's default, a browser download) and in History.

/** `neural-style-<runId>`: the file name of a run's exports, less the extension. */
export function exportBaseName(runId: string): string {
  return `neural-style-${runId}`;
}
