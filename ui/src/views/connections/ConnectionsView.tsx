// Profiles: list, add (URI or fields), import app-config files, test, keyring, write mode.
import { useState } from 'react';
import * as cmd from '../../commands';
import type { ProfileView } from '../../bindings/ProfileView';
import type { StagedTest } from '../../bindings/StagedTest';
import { ConfirmDialog } from '../../components/Dialog';
import { ModeBadge } from '../../components/Shell';
import { Empty, ErrorBox, QueryView } from '../../components/states';
import { describeAuth, describeSsh } from '../../lib/access';
import { toUiError, type UiError } from '../../lib/errors';
import { useSession } from '../../lib/session';
import { useStickyState } from '../../lib/sticky';
import { useQuery } from '../../lib/useQuery';
import { InstallationList, useInstallations } from '../overview/Installations';
import { AddProfileDialog } from './AddProfile';
import { TestStages } from './TestStages';

export function ConnectionsView() {
  const profiles = useQuery(() => cmd.listProfiles(), []);
  const keyring = useQuery(() => cmd.keyringStatus(), []);
  const [selected, setSelected] = useStickyState<string | null>('connections.selected', null);
  const [adding, setAdding] = useState(false);
  const list = profiles.data ?? [];
  const current = list.find((p) => p.profile.name === selected) ?? list.find((p) => p.open) ?? list[0] ?? null;

  return (
    <div className="view" data-testid="connections">
      <div className="view-head">
        <h1>Connections</h1>
        <span className="muted">
          {list.length} {list.length === 1 ? 'profile' : 'profiles'}
        </span>
        <span className="spacer" />
        <button type="button" className="button button-primary" data-testid="add-profile" onClick={() => setAdding(true)}>
          Add profile…
        </button>
      </div>
      {keyring.data && !keyring.data.available && (
        <div className="callout callout-warn" data-testid="keyring-status">
          <strong>The OS keyring is not usable</strong>
          {keyring.data.reason ? `: ${keyring.data.reason}` : ''}. {keyring.data.hint ?? ''} Passwords can be given for
          this run only when opening or testing a profile.
        </div>
      )}
      {keyring.data?.available && (
        <div className="muted small" data-testid="keyring-status">
          OS keyring: available (passwords are stored there, never in a file).
        </div>
      )}
      <QueryView q={profiles} what="profiles">
        {() =>
          list.length === 0 ? (
            <Empty title="No profiles yet">Add one from a URI or fields, or import Backstage's app-config.yaml.</Empty>
          ) : (
            <div className="split" style={{ gap: 10 }}>
              <div className="list-side">
                <table className="grid-table" data-testid="profile-list">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Server</th>
                      <th>Layout</th>
                      <th>sslmode</th>
                      <th>Password</th>
                      <th>Mode</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((p) => (
                      <tr
                        key={p.profile.name}
                        className={p === current ? 'clickable selected' : 'clickable'}
                        onClick={() => setSelected(p.profile.name)}
                        data-testid="profile-row"
                      >
                        <td>
                          <strong>{p.profile.name}</strong> {p.open && <span className="chip chip-ok">open</span>}
                        </td>
                        <td className="mono">{p.server}</td>
                        <td>{p.profile.mode}</td>
                        <td className="mono">{p.effective_sslmode}</td>
                        <td>{p.password_stored === null ? '?' : p.password_stored ? 'in keyring' : 'none'}</td>
                        <td>
                          <ModeBadgeSmall write={p.profile.write_mode} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {current && (
                <ProfilePanel
                  key={current.profile.name}
                  view={current}
                  keyringOk={keyring.data?.available ?? true}
                  onChanged={profiles.reload}
                />
              )}
            </div>
          )
        }
      </QueryView>
      {adding && (
        <AddProfileDialog
          onClose={() => setAdding(false)}
          onSaved={(name) => {
            setSelected(name);
            profiles.reload();
          }}
        />
      )}
    </div>
  );
}

function ModeBadgeSmall({ write }: { write: boolean }) {
  return write ? <span className="chip chip-bad">write</span> : <span className="chip">read-only</span>;
}

function ProfilePanel({
  view,
  keyringOk,
  onChanged,
}: {
  view: ProfileView;
  keyringOk: boolean;
  onChanged: () => void;
}) {
  const session = useSession();
  const p = view.profile;
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [test, setTest] = useState<StagedTest | null>(null);
  const tested = test?.server ?? null;
  const [confirm, setConfirm] = useState<'write-on' | 'remove' | null>(null);
  const needPassword = !keyringOk || view.password_stored === false;

  async function act<T>(what: string, f: () => Promise<T>): Promise<T | null> {
    setBusy(what);
    setError(null);
    try {
      return await f();
    } catch (err) {
      setError(toUiError(err));
      return null;
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="pane" style={{ resize: 'none' }} data-testid="profile-panel">
      <div className="pane-head">
        <h2>{p.name}</h2>
        <ModeBadge writeMode={p.write_mode} />
      </div>
      <div className="pane-body">
        <table className="kv-table">
          <tbody>
            <tr>
              <th>Server</th>
              <td className="mono">{view.server}</td>
            </tr>
            <tr>
              <th>User</th>
              <td className="mono">{p.user}</td>
            </tr>
            <tr>
              <th>Layout</th>
              <td>
                {p.mode}
                {p.mode === 'database' && (
                  <>
                    {' '}
                    · prefix <code>{p.prefix}</code>
                  </>
                )}
                {p.database ? (
                  <>
                    {' '}
                    · database <code>{p.database}</code>
                  </>
                ) : null}
                {view.open && session.status?.profile?.switched && (
                  <div className="small warn" data-testid="profile-switched">
                    this run looks at another installation: {session.status.profile.layout}
                  </div>
                )}
              </td>
            </tr>
            <tr>
              <th>TLS</th>
              <td>
                <code>{view.effective_sslmode}</code>
                {p.tls.root_cert ? (
                  <>
                    {' '}
                    CA file <code>{p.tls.root_cert}</code>
                  </>
                ) : p.tls.root_cert_pem ? (
                  ' inline CA certificates'
                ) : (
                  ' system roots'
                )}
              </td>
            </tr>
            <tr>
              <th>Pool</th>
              <td>
                {p.pool.max_connections} connections · connect {String(p.pool.connect_timeout_secs)} s · statements{' '}
                {String(p.pool.statement_timeout_secs)} s
              </td>
            </tr>
            <tr>
              <th>Sign-in</th>
              <td data-testid="profile-auth">
                {describeAuth(p.auth)}
                {p.password_command && (
                  <span className="muted small">
                    {' '}
                    · password from <code>{p.password_command}</code>
                  </span>
                )}
              </td>
            </tr>
            {describeSsh(p.ssh) && (
              <tr>
                <th>SSH tunnel</th>
                <td className="mono small" data-testid="profile-ssh">
                  {describeSsh(p.ssh)}
                </td>
              </tr>
            )}
            <tr>
              <th>Password</th>
              <td>
                {view.password_stored === null
                  ? 'keyring not readable'
                  : view.password_stored
                    ? 'stored in the OS keyring'
                    : 'none stored'}
              </td>
            </tr>
            {p.source && (
              <tr>
                <th>Source</th>
                <td className="small">{p.source}</td>
              </tr>
            )}
            {Object.keys(p.plugins ?? {}).length > 0 && (
              <tr>
                <th>Plugin overrides</th>
                <td className="mono small">{Object.keys(p.plugins ?? {}).join(', ')}</td>
              </tr>
            )}
          </tbody>
        </table>

        {needPassword && (
          <label className="field">
            <span>Password for this run (kept in memory only{keyringOk ? '' : ': the keyring is not usable'})</span>
            <input
              className="input"
              type="password"
              autoComplete="off"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              data-testid="run-password"
            />
          </label>
        )}

        <div className="toolbar">
          <button
            type="button"
            className="button button-primary"
            disabled={busy !== null}
            data-testid="open-profile"
            onClick={async () => {
              const r = await act('open', () => cmd.openProfile(p.name, password || null));
              if (r) {
                onChanged();
                session.reload();
              }
            }}
          >
            {view.open ? 'Reopen in this window' : 'Open in this window'}
          </button>
          <button
            type="button"
            className="button"
            disabled={busy !== null}
            data-testid="test-connection"
            onClick={async () => {
              setTest(null);
              const r = await act('test', () => cmd.testConnection(p.name, password || null));
              if (r) {
                setTest(r);
                const failed = r.stages.find((s) => s.error);
                if (failed?.error) setError(toUiError(failed.error));
              }
            }}
          >
            {busy === 'test' ? 'Testing…' : 'Test connection'}
          </button>
          {p.write_mode ? (
            <button
              type="button"
              className="button"
              disabled={busy !== null}
              data-testid="write-mode-off"
              onClick={async () => {
                const r = await act('write', () => cmd.setWriteMode(p.name, false, ''));
                if (r) {
                  onChanged();
                  session.reload();
                }
              }}
            >
              Back to read-only
            </button>
          ) : (
            <button
              type="button"
              className="button"
              disabled={busy !== null}
              data-testid="write-mode-on"
              onClick={() => setConfirm('write-on')}
            >
              Enable write mode…
            </button>
          )}
          <button type="button" className="button" disabled={busy !== null} onClick={() => setConfirm('remove')}>
            Remove…
          </button>
        </div>

        {view.open && <ServerInstallations />}

        {test && <TestStages stages={test.stages} />}
        {error && <ErrorBox error={error} />}
        {tested && (
          <div className="callout" data-testid="test-result">
            <strong className="ok">Connected</strong> in {String(tested.connect_ms)} ms to{' '}
            <span className="mono">{tested.server}</span> as <span className="mono">{tested.user}</span>, database{' '}
            <span className="mono">{tested.database}</span>
            <br />
            PostgreSQL <span className="mono">{tested.version}</span>
            <br />
            TLS: {tested.tls ?? <span className="warn">not encrypted</span>} · sessions{' '}
            {tested.read_only ? 'read-only' : <span className="bad">writable</span>}
          </div>
        )}
      </div>
      {confirm === 'write-on' && (
        <ConfirmDialog
          title="Enable write mode"
          word={p.name}
          confirmLabel="Enable write mode"
          danger
          busy={busy !== null}
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            const r = await act('write', () => cmd.setWriteMode(p.name, true, p.name));
            setConfirm(null);
            if (r) {
              onChanged();
              session.reload();
            }
          }}
        >
          <p>
            In write mode, sessions of <strong>{p.name}</strong> ({view.server}) are no longer read-only: Knex unlock
            and migrations can change the server. This is saved in the profile until you turn it off.
          </p>
        </ConfirmDialog>
      )}
      {confirm === 'remove' && (
        <ConfirmDialog
          title="Remove profile"
          word={p.name}
          confirmLabel="Remove"
          danger
          busy={busy !== null}
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            const r = await act('remove', () => cmd.removeProfile(p.name));
            setConfirm(null);
            if (r !== null) {
              onChanged();
              session.reload();
            }
          }}
        >
          <p>
            Removes the profile <strong>{p.name}</strong> and its passwords from the keyring. Nothing on the server
            changes.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** The Backstage installations on the open profile's server, found on request. */
function ServerInstallations() {
  const [wanted, setWanted] = useState(false);
  const inst = useInstallations(wanted);
  return (
    <div className="installations-box" data-testid="server-installations">
      {!wanted ? (
        <button type="button" className="button" data-testid="find-installations" onClick={() => setWanted(true)}>
          Find Backstage installations on this server
        </button>
      ) : (
        <>
          <h3 className="sub">Backstage installations on this server</h3>
          {inst.status === 'loading' && <span className="muted small">Looking at every database on the server…</span>}
          {inst.error && <ErrorBox error={inst.error} onRetry={inst.reload} />}
          {inst.data && <InstallationList data={inst.data} />}
        </>
      )}
    </div>
  );
}
