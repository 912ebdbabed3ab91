// The Backstage installations on the open profile's server: plugin databases grouped by prefix,
// plugin schemas grouped by database. This run can be switched to one (the saved profile does
// not change) and a profile can be saved for one.
import { useState } from 'react';
import * as cmd from '../../commands';
import type { Installation } from '../../bindings/Installation';
import type { Installations } from '../../bindings/Installations';
import { ErrorBox } from '../../components/states';
import { toUiError, type UiError } from '../../lib/errors';
import { formatBytes } from '../../lib/format';
import { useSession } from '../../lib/session';
import { useQuery } from '../../lib/useQuery';

export function installationLabel(i: Installation): string {
  return i.mode === 'schema' ? `${i.database ?? ''} (schemas)` : i.prefix;
}

function pluralPlugins(n: number): string {
  return `${n} plugin${n === 1 ? '' : 's'}`;
}

/** The installations of the open profile's server, read again when the run's layout changes. */
export function useInstallations(enabled = true) {
  const session = useSession();
  const p = session.status?.profile;
  return useQuery((op) => cmd.installations(op), [p?.name, p?.layout], enabled && p != null);
}

function suggestedName(profile: string, i: Installation): string {
  const what = (i.mode === 'schema' ? (i.database ?? 'schemas') : i.prefix).replace(/_+$/, '');
  return `${profile}-${what}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
}

/** The actions on one installation: switch this run to it, save a profile for it. */
function Actions({ i, onError }: { i: Installation; onError: (e: UiError | null) => void }) {
  const session = useSession();
  const profile = session.status?.profile?.name ?? '';
  const [busy, setBusy] = useState(false);
  const [naming, setNaming] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const layout = { mode: i.mode, prefix: i.prefix, database: i.database };

  async function run(f: () => Promise<unknown>) {
    setBusy(true);
    onError(null);
    try {
      await f();
      return true;
    } catch (err) {
      onError(toUiError(err));
      return false;
    } finally {
      setBusy(false);
    }
  }

  if (naming !== null) {
    return (
      <form
        className="inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const name = naming.trim();
          const ok = await run(async () => {
            const r = await cmd.saveInstallation(name, layout);
            if (r.warning) onError({ code: 'keyring_unavailable', message: r.warning });
          });
          if (ok) {
            setSaved(name);
            setNaming(null);
          }
        }}
      >
        <input
          className="input"
          aria-label="Profile name"
          value={naming}
          onChange={(e) => setNaming(e.target.value)}
          data-testid="installation-profile-name"
          autoFocus
        />
        <button type="submit" className="button button-primary" disabled={busy || naming.trim() === ''}>
          Save
        </button>
        <button type="button" className="button" onClick={() => setNaming(null)}>
          Cancel
        </button>
      </form>
    );
  }
  return (
    <span className="nowrap">
      {!i.current && (
        <button
          type="button"
          className="button"
          disabled={busy}
          data-testid="installation-use"
          title="Look at this installation in this window; the saved profile does not change"
          onClick={async () => {
            if (await run(() => cmd.switchInstallation(layout))) session.reload();
          }}
        >
          Use for this run
        </button>
      )}{' '}
      <button
        type="button"
        className="button"
        disabled={busy}
        data-testid="installation-save"
        title="Save a profile for this installation: same server, user and TLS, read-only"
        onClick={() => setNaming(suggestedName(profile, i))}
      >
        Save as profile…
      </button>
      {saved && <span className="ok small"> saved as {saved}</span>}
    </span>
  );
}

/** Every installation of the server, as a table with its actions. */
export function InstallationList({ data }: { data: Installations }) {
  const session = useSession();
  const [error, setError] = useState<UiError | null>(null);
  const switched = session.status?.profile?.switched ?? false;
  return (
    <div data-testid="installations">
      {switched && (
        <div className="callout small">
          This window looks at another installation than the saved profile&apos;s.{' '}
          <button
            type="button"
            className="button-link"
            data-testid="installation-back"
            onClick={async () => {
              try {
                await cmd.switchInstallation(null);
                session.reload();
              } catch (err) {
                setError(toUiError(err));
              }
            }}
          >
            Back to the saved layout
          </button>
        </div>
      )}
      {error && <ErrorBox error={error} />}
      {data.installations.length === 0 ? (
        <div className="muted small">No Backstage installation on {data.server}.</div>
      ) : (
        <table className="grid-table">
          <thead>
            <tr>
              <th>Installation</th>
              <th>Mode</th>
              <th>Plugins</th>
              <th className="num">Size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data.installations.map((i) => (
              <tr key={i.mode + i.prefix + (i.database ?? '')} data-testid="installation-row">
                <td className="mono break">
                  {installationLabel(i)} {i.current && <span className="chip chip-ok">this run</span>}
                </td>
                <td>{i.mode}</td>
                <td className="small break" title={i.plugins.map((p) => (p.schema ? `${p.database}.${p.schema}` : p.database)).join('\n')}>
                  {i.plugins.map((p) => p.plugin).join(', ')}
                </td>
                <td className="num nowrap">{formatBytes(i.size_bytes)}</td>
                <td>
                  <Actions i={i} onError={setError} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data.unread.length > 0 && (
        <div className="muted small" data-testid="installations-unread">
          Not read:{' '}
          {data.unread.map((u) => (
            <span key={u.database} title={u.error.message}>
              <span className="mono">{u.database}</span> ({u.error.message}){' '}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}

/** What the Overview says when the profile finds no installation, or only part of one. */
export function OtherInstallationsNote({ data }: { data: Installations }) {
  if (!data.suggest_others) return null;
  const others = data.installations
    .filter((i) => !i.current)
    .sort((a, b) => b.plugins.length - a.plugins.length);
  if (others.length === 0) return null;
  const anyCurrent = data.installations.some((i) => i.current);
  return (
    <div className="callout callout-warn" data-testid="other-installations">
      <strong>
        {others.length} {anyCurrent ? 'other ' : ''}Backstage installation{others.length === 1 ? '' : 's'} on this
        server:
      </strong>{' '}
      {others.map((i, n) => (
        <span key={i.mode + i.prefix + (i.database ?? '')}>
          <span className="mono">{installationLabel(i)}</span> ({pluralPlugins(i.plugins.length)})
          {n < others.length - 1 ? ', ' : ''}
        </span>
      ))}
      . {anyCurrent ? 'The profile’s prefix takes in databases of another installation.' : 'The profile’s layout finds none of them.'}{' '}
      Choose one below for this run, or save a profile for it.
    </div>
  );
}
