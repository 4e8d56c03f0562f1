// Untrusted text (file names, paths, payload values, library messages) made safe to show on one line of a terminal.

/**
 * Control characters (C0, DEL and C1: escape sequences, newlines, carriage returns, bells), the line and paragraph
 * separators and the bidirectional embeddings, overrides and isolates: what could clear or retitle a terminal, move
 * its cursor, break a one-line message or make a name read as another.
 */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * `text` with each such character written as a `\uXXXX` escape; everything else (accents, CJK, emoji, and the JSON
 * text JSON.stringify makes, which stays valid JSON) is unchanged.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
