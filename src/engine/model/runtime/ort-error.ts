// An onnxruntime error in one line: what went wrong, without the native source path and check around it.

/**
 * The informative part of an onnxruntime error: its first line without the native source-path prefix
 * ("/onnxruntime_src/…cc:123 Fn() [ONNXRuntimeError] : 1 : FAIL : ", or a failed check's condition), cut at a
 * word boundary.
 */
export function summariseOrtError(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
  const parts = line.split(/\s:\s(?:[A-Z_]+\s:\s)?/);
  // An ORT_ENFORCE failure reads "/onnxruntime_src/….cc:136 Fn()::<lambda()> condition was false. What went wrong".
  const enforced = /^\S*onnxruntime_src\S* .* was false\.\s*(.+)$/.exec(line);
  const tail = (enforced ? enforced[1]! : line.includes('[ONNXRuntimeError]') ? parts[parts.length - 1]! : line).trim();
  if (tail.length <= 240) return tail;
  return `${tail.slice(0, 240).replace(/\s+\S*$/, '')} …`;
}
