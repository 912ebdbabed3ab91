// The form's sign-in and SSH fields: a password (the default) or a token the app obtains for
// Microsoft Entra ID, AWS RDS IAM or Google Cloud SQL IAM, and an SSH tunnel through the system's `ssh` (the user's
// ~/.ssh/config, agent and known_hosts apply).
import type { AccessForm, AuthKind } from '../../lib/access';

export function AccessFields({ value, onChange }: { value: AccessForm; onChange: (v: AccessForm) => void }) {
  const set = (patch: Partial<AccessForm>) => onChange({ ...value, ...patch });
  const text = (key: keyof AccessForm, label: string, placeholder: string, title?: string) => (
    <label className="field" title={title}>
      <span>{label}</span>
      <input
        className="input mono"
        value={value[key]}
        placeholder={placeholder}
        spellCheck={false}
        onChange={(e) => set({ [key]: e.target.value })}
        data-testid={`profile-${key}-input`}
      />
    </label>
  );
  return (
    <details className="access-fields" open={value.auth !== '' || value.sshDestination !== ''}>
      <summary>Sign-in method and SSH tunnel</summary>
      <div className="form-grid">
        <label className="field">
          <span>Sign in with</span>
          <select
            className="select"
            value={value.auth}
            onChange={(e) => set({ auth: e.target.value as AuthKind | '' })}
            data-testid="profile-auth-select"
          >
            <option value="">as saved (a password for a new profile)</option>
            <option value="password">a password</option>
            <option value="azure">a Microsoft Entra ID token (Azure Database for PostgreSQL)</option>
            <option value="rds">an AWS RDS IAM token</option>
            <option value="cloudsql">a Google Cloud SQL IAM token (connector, Auth Proxy or instance IP)</option>
          </select>
        </label>
        {value.auth === 'rds' && (
          <>
            {text('awsRegion', 'AWS region', 'else AWS_REGION')}
            {text('awsProfile', 'AWS profile', 'else AWS_PROFILE or default')}
          </>
        )}
        {value.auth === 'azure' && (
          <>
            {text(
              'azureClientId',
              'Client id',
              'alone: a managed identity',
              'With a tenant id and a client secret (the password field, stored in the keyring), a service principal',
            )}
            {text('azureTenantId', 'Tenant id', 'with a client secret')}
          </>
        )}
        {value.auth === 'cloudsql' && (
          <>
            {text(
              'cloudsqlInstance',
              'Instance',
              'project:region:instance',
              'The instance connection name. The token comes from Application Default Credentials',
            )}
            <label
              className="field"
              title="The connector asks the Cloud SQL Admin API for an ephemeral client certificate and connects to the instance over TLS itself (host and port are not used); through a proxy, host and port are those of a Cloud SQL Auth Proxy or the instance IP"
            >
              <span>Reach it</span>
              <select
                className="select"
                value={value.cloudsqlRoute}
                onChange={(e) => set({ cloudsqlRoute: e.target.value as AccessForm['cloudsqlRoute'] })}
                data-testid="profile-cloudsqlRoute-select"
              >
                <option value="connector">with the connector (ephemeral certificate, no proxy)</option>
                <option value="proxy">at host and port (Cloud SQL Auth Proxy or instance IP)</option>
              </select>
            </label>
            {value.cloudsqlRoute === 'connector' && (
              <label className="field">
                <span>IP type</span>
                <select
                  className="select"
                  value={value.cloudsqlIpType}
                  onChange={(e) => set({ cloudsqlIpType: e.target.value as AccessForm['cloudsqlIpType'] })}
                  data-testid="profile-cloudsqlIpType-select"
                >
                  <option value="public">public</option>
                  <option value="private">private (VPC)</option>
                  <option value="psc">Private Service Connect</option>
                </select>
              </label>
            )}
          </>
        )}
      </div>
      <div className="form-grid">
        {text(
          'sshDestination',
          'SSH host',
          'user@bastion.example.com[:port] or an ssh config alias',
          'Connections go through `ssh -L` to this host; empty: no tunnel',
        )}
        {text('sshIdentity', 'SSH key file', 'else the agent and ~/.ssh/config')}
        {text('sshJump', 'Jump hosts', 'user@jump1, user@jump2 (in order)')}
      </div>
    </details>
  );
}
