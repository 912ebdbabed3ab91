// The arithmetic of a list of fixed-height rows: which rows a scroll position shows, and where
// to scroll so that a row is seen. Nothing per row is kept, so a list of a million rows costs
// what a list of a hundred does.

/** The rows of a list as the list reads them: an array, or a window over pages that computes
 * a row on demand (usePagedWindow) so that no array as long as the list is ever built. */
export interface Rows<T> {
  readonly length: number;
  at(index: number): T | undefined;
}

/** The rows to render, `[first, last]` inclusive (`last < first`: none): those in the
 * viewport and `overscan` more on each side. */
export function visibleRows(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan: number,
): [number, number] {
  if (count <= 0 || rowHeight <= 0) return [0, -1];
  const top = Math.max(0, scrollTop);
  const first = Math.min(count - 1, Math.max(0, Math.floor(top / rowHeight) - overscan));
  const lastSeen = Math.ceil((top + Math.max(0, viewport)) / rowHeight) - 1;
  const last = Math.min(count - 1, Math.max(first, lastSeen + overscan));
  return [first, last];
}

/** The scroll position that brings row `index` fully into view, moving as little as possible
 * (`null`: it is in view already). */
export function scrollToSee(index: number, scrollTop: number, viewport: number, rowHeight: number): number | null {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  // A row taller than the viewport is shown from its top.
  if (bottom > scrollTop + viewport) return Math.max(0, Math.min(top, bottom - viewport));
  return null;
}
