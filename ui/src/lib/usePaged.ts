// Keyset-paged lists: the first page when the inputs change, the next one on demand (on
// scroll). Answers to stale requests are dropped. A paged window (usePagedWindow) that keeps
// every page it read, for lists a person pages through by hand (errors, tasks, search hits).
import { useMemo } from 'react';
import type { UiError } from './errors';
import { usePagedWindow, type PageLike } from './usePagedWindow';

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
  const { items, loading, error, hasMore, loadMore, reload, cancel, loaded } = usePagedWindow<T, P>(
    fetchPage,
    deps,
    Infinity,
    onFirstPage,
  );
  // No page is ever dropped, so no row is missing: these lists are short enough to hold whole.
  const all = useMemo(() => Array.from({ length: items.length }, (_, i) => items.at(i) as T), [items]);
  return { items: all, loading, error, hasMore, loadMore, reload, cancel, loaded };
}
