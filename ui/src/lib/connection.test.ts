import { describe, expect, test } from 'vitest';
import type { ErrorPayload } from '../commands';
import { isConnectionFailure, nextConnectionState, type ConnectionState } from './connection';

const lost: ErrorPayload = { code: 'unreachable', message: 'the connection to db:5432 ended while in use' };

describe('the header connection state', () => {
  test('which failures mean the connection itself failed', () => {
    expect(isConnectionFailure(lost)).toBe(true);
    expect(isConnectionFailure({ code: 'timeout', message: 'connecting to db:5432 timed out after 10s' })).toBe(true);
    expect(
      isConnectionFailure({ code: 'timeout', message: 'db:5432 sent nothing for 35 s ...: the network to the server stalled' }),
    ).toBe(true);
    expect(isConnectionFailure({ code: 'timeout', message: 'the statement timed out after 30s' })).toBe(false);
    expect(isConnectionFailure({ code: 'read_only', message: 'x' })).toBe(false);
  });

  test('lost after such a failure, connected after the next answer, unchanged by other errors', () => {
    let s: ConnectionState = { state: 'unknown' };
    s = nextConnectionState(s, { ok: true });
    expect(s).toEqual({ state: 'connected' });
    s = nextConnectionState(s, { ok: false, error: lost });
    expect(s).toEqual({ state: 'lost', error: lost });
    s = nextConnectionState(s, { ok: false, error: { code: 'schema_degraded', message: 'x' } });
    expect(s.state).toBe('lost');
    s = nextConnectionState(s, { ok: true });
    expect(s).toEqual({ state: 'connected' });
  });
});
