// Keyset-paged lists too long to hold (a catalog of a million entities): pages are read on
// scroll as with usePaged, but only the pages near what is on screen stay in memory. A page
// that was dropped is read again, from the cursor it was first read from, when it comes into
// view; its rows are `undefined` meanwhile (the list shows a placeholder row). With `keep` at
// Infinity no page is dropped (usePaged).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { toUiError, type UiError } from './errors';
import { newOpId, cancelOp } from './ops';
import type { Rows } from './rows';
import { useInstallationScope } from './session';

export interface PageLike<T> {
  items: T[];
  next_cursor?: string | null | undefined;
}

interface Page<T> {
  /** The cursor this page is read from (null: the first page). */
  from: string | null;
  /** Its rows, or null when dropped. */
  rows: T[] | null;
  /** How many rows it had when first read (its place in the list). */
  count: number;
}

export interface PagedWindow<T> {
  /** Every row reached so far; `undefined` where the page was dropped from memory. Rows are
   * found in their page on demand: no array as long as the list is built. */
  items: Rows<T>;
  loading: boolean;
  error: UiError | null;
  hasMore: boolean;
  loadMore: () => void;
  /** Rows `start..end` are on screen: reads the dropped pages among them again. */
  need: (start: number, end: number) => void;
  reload: () => void;
  cancel: () => void;
  loaded: boolean;
}

const NO_ROWS: Rows<never> = { length: 0, at: () => undefined };

/** Pages kept in memory by default: some 3,600 rows of 300, around the ones on screen. */
export const KEEP_PAGES = 12;

/** Where the pages' rows start, by their first-read sizes. */
export interface PageIndex {
  /** Rows in all the pages. */
  length: number;
  /** The page holding row `index` (-1: none), by bisection. */
  page(index: number): number;
  /** The first row of page `p`. */
  start(p: number): number;
}

export function pageIndex(pages: ReadonlyArray<{ count: number }>): PageIndex {
  const starts: number[] = [];
  let length = 0;
  for (const p of pages) {
    starts.push(length);
    length += p.count;
  }
  return {
    length,
    page(index: number): number {
      if (!Number.isInteger(index) || index < 0 || index >= length) return -1;
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((starts[mid] ?? 0) <= index) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    },
    start: (p) => starts[p] ?? length,
  };
}

/** The page holding row `index`, by the pages' first-read sizes (-1: none). */
export function pageOf(pages: ReadonlyArray<{ count: number }>, index: number): number {
  return pageIndex(pages).page(index);
}

/** The resident pages to drop so that at most `keep` stay, the farthest from `focus` first. */
export function toDrop(pages: ReadonlyArray<{ rows: unknown[] | null }>, focus: number, keep: number): number[] {
  const resident = pages.flatMap((p, i) => (p.rows ? [i] : []));
  if (resident.length <= keep) return [];
  return resident.sort((a, b) => Math.abs(b - focus) - Math.abs(a - focus)).slice(0, resident.length - keep);
}

/** The rows of `pages` as one list, each found in its page on demand (the pages as they are
 * now; a later drop or refetch shows through). */
export function rowsOf<T>(pages: ReadonlyArray<{ rows: T[] | null; count: number }>): Rows<T> {
  const index = pageIndex(pages);
  return {
    length: index.length,
    at(row: number): T | undefined {
      const p = index.page(row);
      return p < 0 ? undefined : pages[p]?.rows?.[row - index.start(p)];
    },
  };
}

export function usePagedWindow<T, P extends PageLike<T> = PageLike<T>>(
  fetchPage: (cursor: string | null, op: string) => Promise<P>,
  deps: ReadonlyArray<unknown>,
  keep = KEEP_PAGES,
  onFirstPage?: (page: P) => void,
): PagedWindow<T> {
  const pages = useRef<Page<T>[]>([]);
  const next = useRef<string | null>(null);
  const [version, setVersion] = useState(0);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const generation = useRef(0);
  const busy = useRef(false);
  const refetching = useRef(new Set<number>());
  const op = useRef<string | null>(null);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const firstRef = useRef(onFirstPage);
  firstRef.current = onFirstPage;
  // Which installation the rows are about: rows of another are never shown.
  const scope = useInstallationScope();
  const scopeRef = useRef(scope);
  scopeRef.current = scope;
  const [itemsScope, setItemsScope] = useState(scope);

  const settle = useCallback(
    (focus: number) => {
      for (const p of toDrop(pages.current, focus, keep)) {
        const page = pages.current[p];
        if (page) page.rows = null;
      }
      setVersion((v) => v + 1);
    },
    [keep],
  );

  const fetchNext = useCallback(
    async (reset: boolean) => {
      const mine = reset ? ++generation.current : generation.current;
      busy.current = true;
      setLoading(true);
      setError(null);
      const id = newOpId();
      op.current = id;
      const at = scopeRef.current;
      const from = reset ? null : next.current;
      try {
        const page = await fetchRef.current(from, id);
        if (mine !== generation.current) return;
        if (reset) {
          pages.current = [];
          refetching.current.clear();
          setItemsScope(at);
        }
        pages.current.push({ from, rows: page.items, count: page.items.length });
        next.current = page.next_cursor ?? null;
        setHasMore(!!page.next_cursor);
        setLoaded(true);
        settle(pages.current.length - 1);
        if (reset) firstRef.current?.(page);
      } catch (err) {
        if (mine !== generation.current) return;
        setError(toUiError(err));
        if (reset) {
          pages.current = [];
          setItemsScope(at);
          setHasMore(false);
          setVersion((v) => v + 1);
        }
      } finally {
        if (mine === generation.current) {
          busy.current = false;
          setLoading(false);
          op.current = null;
        }
      }
    },
    [settle],
  );

  const refetch = useCallback(
    async (p: number) => {
      const page = pages.current[p];
      if (!page || page.rows || refetching.current.has(p)) return;
      const mine = generation.current;
      refetching.current.add(p);
      try {
        const got = await fetchRef.current(page.from, newOpId());
        if (mine !== generation.current) return;
        // The page keeps its place; rows added or removed since move nothing else.
        page.rows = got.items.slice(0, page.count);
        settle(p);
      } catch (err) {
        if (mine === generation.current) setError(toUiError(err));
      } finally {
        refetching.current.delete(p);
      }
    },
    [settle],
  );

  const reload = useCallback(() => {
    if (op.current) void cancelOp(op.current);
    setLoaded(false);
    void fetchNext(true);
  }, [fetchNext]);

  useEffect(() => {
    reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, scope]);

  const loadMore = useCallback(() => {
    if (busy.current || !hasMore) return;
    void fetchNext(false);
  }, [hasMore, fetchNext]);

  const need = useCallback(
    (start: number, end: number) => {
      const index = pageIndex(pages.current);
      const first = index.page(Math.max(0, start));
      const last = index.page(Math.max(0, end));
      if (first < 0) return;
      for (let p = first; p <= (last < 0 ? pages.current.length - 1 : last); p++) {
        if (!pages.current[p]?.rows) void refetch(p);
      }
    },
    [refetch],
  );

  const cancel = useCallback(() => {
    if (op.current) void cancelOp(op.current);
  }, []);

  const items = useMemo(
    () => rowsOf(pages.current),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [version],
  );

  if (itemsScope !== scope) {
    return { items: NO_ROWS, loading: true, error: null, hasMore: false, loadMore, need, reload, cancel, loaded: false };
  }
  return { items, loading, error, hasMore, loadMore, need, reload, cancel, loaded };
}
