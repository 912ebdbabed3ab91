// How a profile reaches its server besides host and port: the sign-in method (a password, or a
// token the app obtains for Entra ID, RDS IAM or Cloud SQL IAM) and an SSH tunnel. The form's text fields,
// and what they become in a ProfileInput (an empty field is unset).
import type { AuthMethod } from '../bindings/AuthMethod';
import type { CloudsqlIpType } from '../bindings/CloudsqlIpType';
import type { CloudsqlRoute } from '../bindings/CloudsqlRoute';
import type { SshSettings } from '../bindings/SshSettings';

export type AuthKind = AuthMethod['method'];

export interface AccessForm {
  auth: AuthKind | '';
  awsRegion: string;
  awsProfile: string;
  azureClientId: string;
  azureTenantId: string;
  /** The Cloud SQL instance connection name (project:region:instance). */
  cloudsqlInstance: string;
  /** How Cloud SQL is reached: Google's connector protocol, or the host and port (a proxy). */
  cloudsqlRoute: CloudsqlRoute;
  /** The address the connector dials. */
  cloudsqlIpType: CloudsqlIpType;
  sshDestination: string;
  sshIdentity: string;
  /** Jump hosts, separated by commas or spaces, in order. */
  sshJump: string;
}

export const EMPTY_ACCESS: AccessForm = {
  auth: '',
  awsRegion: '',
  awsProfile: '',
  azureClientId: '',
  azureTenantId: '',
  cloudsqlInstance: '',
  cloudsqlRoute: 'connector',
  cloudsqlIpType: 'public',
  sshDestination: '',
  sshIdentity: '',
  sshJump: '',
};

/** `{ [key]: value }` when the trimmed value is not empty, else `{}`. */
function some<K extends string>(key: K, value: string): { [k in K]?: string } {
  const v = value.trim();
  return (v ? { [key]: v } : {}) as { [k in K]?: string };
}

/** The sign-in method the form names; `null` keeps what the profile (or the URI) has. */
export function authOf(f: AccessForm): AuthMethod | null {
  switch (f.auth) {
    case '':
      return null;
    case 'password':
      return { method: 'password' };
    case 'rds':
      return { method: 'rds', ...some('region', f.awsRegion), ...some('aws_profile', f.awsProfile) };
    case 'azure':
      return { method: 'azure', ...some('client_id', f.azureClientId), ...some('tenant_id', f.azureTenantId) };
    case 'cloudsql':
      return {
        method: 'cloudsql',
        ...some('instance', f.cloudsqlInstance),
        route: f.cloudsqlRoute,
        ...(f.cloudsqlRoute === 'connector' ? { ip_type: f.cloudsqlIpType } : {}),
      };
  }
}

/** The SSH tunnel the form names; `null` without a destination. */
export function sshOf(f: AccessForm): SshSettings | null {
  const destination = f.sshDestination.trim();
  if (!destination) return null;
  return {
    destination,
    ...some('identity_file', f.sshIdentity),
    jump: f.sshJump.split(/[\s,]+/).filter(Boolean),
  };
}

/** How a saved profile signs in, in a few words. */
export function describeAuth(a: AuthMethod | undefined | null): string {
  if (!a || a.method === 'password') return 'password';
  if (a.method === 'rds') {
    const where = [a.region && `region ${a.region}`, a.aws_profile && `AWS profile ${a.aws_profile}`].filter(Boolean);
    return `AWS RDS IAM token${where.length ? ` (${where.join(', ')})` : ''}`;
  }
  if (a.method === 'cloudsql') {
    const how =
      a.route === 'connector'
        ? [a.instance && `instance ${a.instance}`, `connector, ${a.ip_type ?? 'public'} IP`]
        : [a.instance && `instance ${a.instance}`];
    const words = how.filter(Boolean);
    return `Google Cloud SQL IAM token${words.length ? ` (${words.join(', ')})` : ''}`;
  }
  const who = [a.client_id && `client ${a.client_id}`, a.tenant_id && `tenant ${a.tenant_id}`].filter(Boolean);
  return `Microsoft Entra ID token${who.length ? ` (${who.join(', ')})` : ''}`;
}

/** A saved profile's SSH tunnel, in a few words (`null`: none). */
export function describeSsh(s: SshSettings | undefined | null): string | null {
  if (!s || !s.destination) return null;
  const parts = [s.destination];
  if (s.jump.length) parts.push(`via ${s.jump.join(' → ')}`);
  if (s.identity_file) parts.push(`key ${s.identity_file}`);
  return parts.join(' · ');
}
