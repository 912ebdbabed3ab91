// Keyset-paged lists: the first page when the inputs change, the next one on demand (on
// scroll). Answers to stale requests are dropped.
import { useCallback, useEffect, useRef, useState } from 'react';
import { toUiError, type UiError } from './errors';
import { newOpId, cancelOp } from './ops';
import { useInstallationScope } from './session';

interface PageLike<T> {
  items: T[];
  next_cursor?: string | null | undefined;
}

export interface Paged<T> {
  items: T[];
  loading: boolean;
  error: UiError | null;
  hasMore: boolean;
  /** Fetches the next page unless one is already coming or there is none. */
  loadMore: () => void;
  reload: () => void;
  /** Cancels the page being read (on the server too). */
  cancel: () => void;
  /** Set once the first page arrived. */
  loaded: boolean;
}

export function usePaged<T, P extends PageLike<T> = PageLike<T>>(
  fetchPage: (cursor: string | null, op: string) => Promise<P>,
  deps: ReadonlyArray<unknown>,
  onFirstPage?: (page: P) => void,
): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const generation = useRef(0);
  const busy = useRef(false);
  const op = useRef<string | null>(null);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const firstRef = useRef(onFirstPage);
  firstRef.current = onFirstPage;
  // Which installation the items are about: items of another are never shown.
  const scope = useInstallationScope();
  const scopeRef = useRef(scope);
  scopeRef.current = scope;
  const [itemsScope, setItemsScope] = useState(scope);

  const fetchFrom = useCallback(async (from: string | null, reset: boolean) => {
    const mine = reset ? ++generation.current : generation.current;
    busy.current = true;
    setLoading(true);
    setError(null);
    const id = newOpId();
    op.current = id;
    const at = scopeRef.current;
    try {
      const page = await fetchRef.current(from, id);
      if (mine !== generation.current) return;
      setItems((prev) => (reset ? page.items : [...prev, ...page.items]));
      if (reset) setItemsScope(at);
      setCursor(page.next_cursor ?? null);
      setHasMore(!!page.next_cursor);
      setLoaded(true);
      if (reset) firstRef.current?.(page);
    } catch (err) {
      if (mine !== generation.current) return;
      setError(toUiError(err));
      if (reset) {
        setItems([]);
        setItemsScope(at);
        setHasMore(false);
      }
    } finally {
      if (mine === generation.current) {
        busy.current = false;
        setLoading(false);
        op.current = null;
      }
    }
  }, []);

  const reload = useCallback(() => {
    if (op.current) void cancelOp(op.current);
    setLoaded(false);
    void fetchFrom(null, true);
  }, [fetchFrom]);

  useEffect(() => {
    reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, scope]);

  const loadMore = useCallback(() => {
    if (busy.current || !hasMore) return;
    void fetchFrom(cursor, false);
  }, [cursor, hasMore, fetchFrom]);

  const cancel = useCallback(() => {
    if (op.current) void cancelOp(op.current);
  }, []);

  if (itemsScope !== scope) {
    return { items: [], loading: true, error: null, hasMore: false, loadMore, reload, cancel, loaded: false };
  }
  return { items, loading, error, hasMore, loadMore, reload, cancel, loaded };
}
