import { useCallback, useEffect, useRef, useState } from 'react';
import { toUiError, type UiError } from './errors';
import { cancelOp, newOpId } from './ops';
import { useInstallationScope } from './session';

export type QueryState<T> =
  | { status: 'loading'; data: T | null; error: null }
  | { status: 'ready'; data: T; error: null }
  | { status: 'failed'; data: T | null; error: UiError };

/**
 * Runs `load` when `deps` change and keeps only the answer of the latest call (an older,
 * slower answer never overwrites a newer one). The previous data stays visible while
 * reloading, so lists do not flicker, but only while the window looks at the same
 * installation: after a switch to another profile or installation, nothing read from the old
 * one stands under the new one while it loads. `load` gets an operation id to pass to the command, so
 * that `cancel` can cancel it on the server.
 */
export function useQuery<T>(load: (op: string) => Promise<T>, deps: ReadonlyArray<unknown>, enabled = true) {
  const scope = useInstallationScope();
  const scopeRef = useRef(scope);
  scopeRef.current = scope;
  const [state, setState] = useState<QueryState<T> & { scope: string }>({
    status: 'loading',
    data: null,
    error: null,
    scope,
  });
  const generation = useRef(0);
  const op = useRef<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(async () => {
    const mine = ++generation.current;
    const id = newOpId();
    op.current = id;
    const at = scopeRef.current;
    setState((s) => ({ status: 'loading', data: s.scope === at ? s.data : null, error: null, scope: at }));
    try {
      const data = await loadRef.current(id);
      if (mine === generation.current) setState({ status: 'ready', data, error: null, scope: at });
    } catch (err) {
      if (mine === generation.current)
        setState((s) => ({ status: 'failed', data: s.scope === at ? s.data : null, error: toUiError(err), scope: at }));
    } finally {
      if (op.current === id) op.current = null;
    }
  }, []);

  const cancel = useCallback(() => {
    if (op.current) void cancelOp(op.current);
  }, []);

  useEffect(() => {
    if (enabled) void run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, enabled, scope]);

  const shown: QueryState<T> =
    state.scope === scope ? state : { status: 'loading', data: null, error: null };
  return { ...shown, reload: run, cancel };
}

/** A value that follows `value` after `ms` without changes (for free-text search). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
