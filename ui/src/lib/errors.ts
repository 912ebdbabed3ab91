// Errors as the UI shows them: the backend's stable `{code, message}`, plus what to do next.

/** The shape every backend error has over IPC (`{code, message}`). */
export interface UiError {
  code: string;
  message: string;
}

/** Turns whatever a rejected call produced into `{code, message}`. */
export function toUiError(err: unknown): UiError {
  if (typeof err === 'object' && err !== null) {
    const rec = err as Record<string, unknown>;
    if (typeof rec.code === 'string' && typeof rec.message === 'string') {
      return { code: rec.code, message: rec.message };
    }
    if (err instanceof Error) return { code: 'ui_error', message: err.message };
  }
  if (typeof err === 'string') return { code: 'backend_error', message: err };
  return { code: 'unknown', message: String(err) };
}

export type NextStep = { text: string; action?: 'connections' | 'retry' | 'password' };

/** What the user can do about an error, by its code. */
export function nextStep(code: string): NextStep | null {
  switch (code) {
    case 'authentication':
      return { text: 'Check the user name, then re-enter the password for this profile.', action: 'password' };
    case 'keyring_unavailable':
      return {
        text: 'The OS keyring cannot be used: enter the password for this run, or unlock the keyring and retry.',
        action: 'password',
      };
    case 'tls_untrusted':
      return { text: "Add the server's CA file (PEM) to the profile, or choose sslmode=require.", action: 'connections' };
    case 'tls_incomplete_chain':
      return { text: 'Add the intermediate CA certificate to the CA file of the profile.', action: 'connections' };
    case 'tls_wrong_host':
      return {
        text: 'Connect with a host name that the certificate lists, or use sslmode=verify-ca.',
        action: 'connections',
      };
    case 'tls_not_supported':
      return { text: 'The server has no TLS: use sslmode=prefer or disable on a trusted network.', action: 'connections' };
    case 'tls_required':
      return { text: 'The server accepts only TLS: use sslmode=require or stricter.', action: 'connections' };
    case 'tls':
      return { text: 'Check the TLS settings of the profile (sslmode, CA file).', action: 'connections' };
    case 'ssh_host_key':
      return {
        text: "The SSH host's key is unknown or changed. Check its fingerprint with the server's administrators before accepting it in known_hosts.",
        action: 'connections',
      };
    case 'unreachable':
      return { text: 'Check the host and port, the VPN or the firewall, then retry.', action: 'retry' };
    case 'timeout':
      return { text: 'The server did not answer in time. Retry, or raise the timeouts of the profile.', action: 'retry' };
    case 'read_only':
      return {
        text: 'This profile is read-only. Enable write mode for the profile in Connections, then try again.',
        action: 'connections',
      };
    case 'config':
      return { text: 'Check the profile in Connections.', action: 'connections' };
    case 'not_found':
      return { text: 'Check the name, or choose another profile in Connections.' };
    case 'schema_degraded':
      return { text: 'This database lacks tables or columns this view needs; other views still work.' };
    case 'database':
      return { text: 'PostgreSQL reported an error; the message above is its own.', action: 'retry' };
    case 'io':
      return { text: 'Check the file path and its permissions.' };
    case 'cancelled':
      return { text: 'The operation was cancelled. Run it again when ready.', action: 'retry' };
    case 'internal':
      return { text: 'This is a bug in Backstage Inspector. The log file has the details.' };
    default:
      return null;
  }
}
