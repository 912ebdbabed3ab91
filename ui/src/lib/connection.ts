// How the connection to the inspected databases is faring, from what the commands that read
// them answered: lost after an error that means the server could not be reached or the
// connection ended (or stalled), connected again after the next answer.
import { useEffect, useState } from 'react';
import { onDatabaseOutcome, type DatabaseOutcome, type ErrorPayload } from '../commands';

export type ConnectionState = { state: 'unknown' } | { state: 'connected' } | { state: 'lost'; error: ErrorPayload };

/** Whether `error` says the connection itself failed, rather than a query or a setting. */
export function isConnectionFailure(error: ErrorPayload): boolean {
  if (error.code === 'unreachable') return true;
  if (error.code !== 'timeout') return false;
  return /^connecting to |network to the server stalled/.test(error.message);
}

/** The state after `outcome`, given the state before. */
export function nextConnectionState(before: ConnectionState, outcome: DatabaseOutcome): ConnectionState {
  if (outcome.ok) return { state: 'connected' };
  if (isConnectionFailure(outcome.error)) return { state: 'lost', error: outcome.error };
  // A query that failed on its own (a timeout, a permission) says nothing about the connection.
  return before;
}

/** The connection state, following every call of a command that reads the databases. */
export function useConnectionState(): [ConnectionState, (s: ConnectionState) => void] {
  const [state, setState] = useState<ConnectionState>({ state: 'unknown' });
  useEffect(() => onDatabaseOutcome((o) => setState((s) => nextConnectionState(s, o))), []);
  return [state, setState];
}
