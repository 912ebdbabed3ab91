// Search highlights: the core marks matches with two private-use characters. The text is split
// on them and rendered as React text nodes, never as HTML.

export const HIGHLIGHT_START = '\u{E000}';
export const HIGHLIGHT_END = '\u{E001}';

/** `[matched, text]` segments of a highlighted string. */
export function highlightSegments(s: string): Array<[boolean, string]> {
  const out: Array<[boolean, string]> = [];
  let inside = false;
  let buf = '';
  for (const ch of s) {
    if (ch === HIGHLIGHT_START || ch === HIGHLIGHT_END) {
      if (buf) out.push([inside, buf]);
      buf = '';
      inside = ch === HIGHLIGHT_START;
    } else {
      buf += ch;
    }
  }
  if (buf) out.push([inside, buf]);
  return out;
}

/** Splits `text` around case-insensitive occurrences of `needle` (for in-log search). */
export function findSegments(text: string, needle: string): Array<[boolean, string]> {
  if (!needle) return [[false, text]];
  const lower = text.toLowerCase();
  const n = needle.toLowerCase();
  const out: Array<[boolean, string]> = [];
  let at = 0;
  for (;;) {
    const i = lower.indexOf(n, at);
    if (i < 0) break;
    if (i > at) out.push([false, text.slice(at, i)]);
    out.push([true, text.slice(i, i + n.length)]);
    at = i + n.length;
  }
  if (at < text.length) out.push([false, text.slice(at)]);
  return out;
}
