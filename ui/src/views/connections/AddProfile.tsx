// Adding a profile: from a URI, from fields, or by importing Backstage app-config files.
import { useState } from 'react';
import * as cmd from '../../commands';
import type { ImportResult } from '../../bindings/ImportResult';
import type { ProfileInput } from '../../bindings/ProfileInput';
import type { SslMode } from '../../bindings/SslMode';
import { Dialog } from '../../components/Dialog';
import { ErrorBox } from '../../components/states';
import { Tabs } from '../../components/Tabs';
import { EMPTY_ACCESS, authOf, sshOf, type AccessForm } from '../../lib/access';
import { toUiError, type UiError } from '../../lib/errors';
import { AccessFields } from './AccessFields';

const SSL_MODES: SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

type Mode = 'uri' | 'fields' | 'import';

export function AddProfileDialog({ onClose, onSaved }: { onClose: () => void; onSaved: (name: string) => void }) {
  const [mode, setMode] = useState<Mode>('uri');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [host, setHost] = useState('');
  const [port, setPort] = useState('5432');
  const [user, setUser] = useState('');
  const [database, setDatabase] = useState('');
  const [prefix, setPrefix] = useState('');
  const [sslmode, setSslmode] = useState<SslMode | ''>('');
  const [caFile, setCaFile] = useState('');
  const [password, setPassword] = useState('');
  const [passwordCommand, setPasswordCommand] = useState('');
  const [access, setAccess] = useState<AccessForm>(EMPTY_ACCESS);
  const [files, setFiles] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const [warning, setWarning] = useState<string | null>(null);
  const [imported, setImported] = useState<ImportResult | null>(null);

  async function save() {
    setBusy(true);
    setError(null);
    setWarning(null);
    try {
      if (mode === 'import') {
        const list = files
          .split('\n')
          .map((f) => f.trim())
          .filter(Boolean);
        const r = await cmd.importAppConfig(name, list, false);
        setImported(r);
        setWarning(r.saved.warning);
        onSaved(name);
      } else {
        const input: ProfileInput = { name, update: false };
        if (mode === 'uri') input.url = url;
        if (mode === 'fields') {
          input.host = host;
          input.port = Number(port) || null;
          input.user = user;
          if (database) input.database = database;
          if (prefix) input.prefix = prefix;
        }
        if (sslmode) input.sslmode = sslmode;
        if (caFile) input.ca_file = caFile;
        if (password) input.password = password;
        if (passwordCommand.trim()) input.password_command = passwordCommand.trim();
        const auth = authOf(access);
        if (auth) input.auth = auth;
        const ssh = sshOf(access);
        if (ssh) input.ssh = ssh;
        const r = await cmd.addProfile(input);
        onSaved(name);
        if (r.warning) setWarning(r.warning);
        else onClose();
      }
    } catch (err) {
      setError(toUiError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Add profile" onClose={onClose} testid="add-profile-dialog">
      <Tabs<Mode>
        tabs={[
          { id: 'uri', label: 'From URI' },
          { id: 'fields', label: 'Fields' },
          { id: 'import', label: 'Import app-config.yaml' },
        ]}
        active={mode}
        onChange={setMode}
      />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label className="field">
          <span>Profile name</span>
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} data-testid="profile-name-input" />
        </label>
        {mode === 'uri' && (
          <label className="field">
            <span>
              URI or key=value string, e.g. <code>postgresql://backstage@db.example.com/postgres?sslmode=verify-full</code>
            </span>
            <input
              className="input mono"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              spellCheck={false}
              data-testid="profile-url-input"
            />
          </label>
        )}
        {mode === 'fields' && (
          <div className="form-grid">
            <label className="field">
              <span>Host</span>
              <input className="input mono" value={host} onChange={(e) => setHost(e.target.value)} />
            </label>
            <label className="field">
              <span>Port</span>
              <input className="input mono" value={port} onChange={(e) => setPort(e.target.value)} />
            </label>
            <label className="field">
              <span>User</span>
              <input className="input mono" value={user} onChange={(e) => setUser(e.target.value)} />
            </label>
            <label className="field">
              <span>Database (other than postgres: a single database)</span>
              <input className="input mono" value={database} onChange={(e) => setDatabase(e.target.value)} />
            </label>
            <label className="field">
              <span>Database prefix</span>
              <input
                className="input mono"
                value={prefix}
                placeholder="backstage_plugin_"
                onChange={(e) => setPrefix(e.target.value)}
              />
            </label>
          </div>
        )}
        {mode === 'import' ? (
          <label className="field">
            <span>app-config files, one path a line, in the order Backstage reads them</span>
            <textarea
              className="input mono"
              rows={3}
              value={files}
              onChange={(e) => setFiles(e.target.value)}
              data-testid="import-files-input"
              placeholder={'/srv/backstage/app-config.yaml\n/srv/backstage/app-config.production.yaml'}
            />
          </label>
        ) : (
          <div className="form-grid">
            <label className="field">
              <span>sslmode</span>
              <select
                className="select"
                value={sslmode}
                onChange={(e) => setSslmode(e.target.value as SslMode | '')}
                data-testid="profile-sslmode-select"
              >
                <option value="">{mode === 'uri' ? 'as in the URI' : 'prefer (default)'}</option>
                {SSL_MODES.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>CA file (PEM)</span>
              <input
                className="input mono"
                value={caFile}
                onChange={(e) => setCaFile(e.target.value)}
                spellCheck={false}
                data-testid="profile-ca-input"
              />
            </label>
            <label className="field">
              <span>Password (to the OS keyring)</span>
              <input
                className="input"
                type="password"
                autoComplete="off"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                data-testid="profile-password-input"
              />
            </label>
            <label className="field" title="Run with sh -c whenever the profile connects; the first line of its output is the password (Vault, 1Password, aws rds generate-db-auth-token, az account get-access-token)">
              <span>or a password command</span>
              <input
                className="input mono"
                value={passwordCommand}
                onChange={(e) => setPasswordCommand(e.target.value)}
                placeholder="vault kv get -field=password secret/backstage/db"
                data-testid="profile-password-command-input"
              />
            </label>
          </div>
        )}
        {mode !== 'import' && <AccessFields value={access} onChange={setAccess} />}
        {error && <ErrorBox error={error} />}
        {warning && <div className="callout callout-warn">{warning}</div>}
        {imported && (
          <div className="callout" data-testid="import-result">
            <div>
              Saved <strong>{imported.saved.view.profile.name}</strong> ({imported.saved.view.server}) from{' '}
              {imported.files.map((f) => (
                <code key={f}>{f}</code>
              ))}
            </div>
            <table className="kv-table small" style={{ marginTop: 6 }}>
              <tbody>
                {imported.read.map((r) => (
                  <tr key={r.key + r.source}>
                    <th className="mono">{r.key}</th>
                    <td className="mono">{r.value}</td>
                    <td className="muted">{r.source}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {imported.warnings.map((w) => (
              <div key={w} className="warn">
                {w}
              </div>
            ))}
          </div>
        )}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            {imported ? 'Close' : 'Cancel'}
          </button>
          {!imported && (
            <button type="submit" className="button button-primary" disabled={busy || !name} data-testid="profile-save">
              {busy ? 'Saving…' : mode === 'import' ? 'Import' : 'Save profile'}
            </button>
          )}
        </div>
      </form>
    </Dialog>
  );
}
