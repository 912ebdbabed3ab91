import { describe, expect, test } from 'vitest';
import { nextStep, toUiError } from './errors';
import type { ErrorCode } from '../bindings/ErrorCode';

describe('error mapping', () => {
  test('the backend payload is kept as it is', () => {
    expect(toUiError({ code: 'tls_untrusted', message: 'no CA' })).toEqual({ code: 'tls_untrusted', message: 'no CA' });
  });

  test('anything else becomes a code and a message', () => {
    expect(toUiError(new Error('boom'))).toEqual({ code: 'ui_error', message: 'boom' });
    expect(toUiError('plain text')).toEqual({ code: 'backend_error', message: 'plain text' });
    expect(toUiError(42)).toEqual({ code: 'unknown', message: '42' });
    expect(toUiError(null)).toEqual({ code: 'unknown', message: 'null' });
    // An object without both fields is not taken for a payload.
    expect(toUiError({ code: 'x' }).code).toBe('unknown');
  });

  test('each code that has one leads to its next step', () => {
    expect(nextStep('authentication')?.action).toBe('password');
    expect(nextStep('keyring_unavailable')?.action).toBe('password');
    expect(nextStep('tls_untrusted')?.action).toBe('connections');
    expect(nextStep('ssh_host_key')?.text).toContain('fingerprint');
    expect(nextStep('read_only')?.text).toMatch(/write mode/);
    expect(nextStep('unreachable')?.action).toBe('retry');
    expect(nextStep('timeout')?.action).toBe('retry');
    expect(nextStep('cancelled')?.action).toBe('retry');
    expect(nextStep('schema_degraded')?.action).toBeUndefined();
    expect(nextStep('no_such_code')).toBeNull();
  });
});

describe('every backend error code', () => {
  // Every code the backend sends (a new one in ErrorCode fails the type check here until it
  // is listed) says what to do next.
  const CODES: Record<ErrorCode, true> = {
    config: true,
    not_found: true,
    authentication: true,
    tls_not_supported: true,
    tls_required: true,
    tls_untrusted: true,
    tls_wrong_host: true,
    tls_incomplete_chain: true,
    tls: true,
    unreachable: true,
    timeout: true,
    read_only: true,
    keyring_unavailable: true,
    schema_degraded: true,
    database: true,
    io: true,
    cancelled: true,
    ssh_host_key: true,
    internal: true,
  };

  test.each(Object.keys(CODES))('%s has a next step', (code) => {
    const step = nextStep(code);
    expect(step).not.toBeNull();
    expect(step?.text.length).toBeGreaterThan(10);
  });

  test('the actions lead where the error can be fixed', () => {
    for (const code of ['tls_untrusted', 'tls_incomplete_chain', 'tls_wrong_host', 'tls_not_supported', 'tls_required', 'tls', 'config', 'read_only', 'ssh_host_key']) {
      expect(nextStep(code)?.action, code).toBe('connections');
    }
    expect(nextStep('database')?.action).toBe('retry');
    expect(nextStep('internal')?.text).toMatch(/log file/);
  });
});
