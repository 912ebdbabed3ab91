import { describe, expect, test } from 'vitest';
import { nextStep, toUiError } from './errors';

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
