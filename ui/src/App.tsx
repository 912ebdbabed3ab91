import { useCallback, useEffect, useState } from 'react';
import { appStatus } from './api';
import type { ApiError, AppStatus, DatabaseSummary, ProfileSummary } from './api';

type LoadState =
  | { kind: 'loading' }
  | { kind: 'failed'; error: ApiError }
  | { kind: 'ready'; status: AppStatus };

/** Turns whatever a rejected `invoke` produced into an ApiError. */
function toApiError(err: unknown): ApiError {
  if (typeof err === 'object' && err !== null) {
    const rec = err as Record<string, unknown>;
    if (typeof rec.code === 'string' && typeof rec.message === 'string') {
      return { code: rec.code, message: rec.message };
    }
    if (err instanceof Error) {
      return { code: 'ui_error', message: err.message };
    }
  }
  if (typeof err === 'string') {
    return { code: 'backend_error', message: err };
  }
  return { code: 'unknown', message: String(err) };
}

const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Human-readable size in binary units, e.g. 1536 -> "1.5 KiB". */
function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) {
    return '—';
  }
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${SIZE_UNITS[unit]}`;
}

function ErrorBox({ error }: { error: ApiError }) {
  return (
    <div className="error-box" role="alert" data-testid="error">
      <div className="error-title">
        Error <code className="error-code">{error.code}</code>
      </div>
      <p className="error-message">{error.message}</p>
    </div>
  );
}

function EmptyState() {
  return (
    <section className="card empty" data-testid="empty">
      <h2>No profile selected</h2>
      <p>
        Start with <code>bsi profile add</code> or <code>bsi demo</code>, then{' '}
        <code>backstage-inspector --profile NAME</code>
      </p>
    </section>
  );
}

function ModeBadge({ writeMode }: { writeMode: boolean }) {
  return writeMode ? (
    <span className="badge badge-write" data-testid="mode-badge" title="Changes can be written to the server">
      WRITE MODE
    </span>
  ) : (
    <span className="badge badge-readonly" data-testid="mode-badge" title="Nothing will be written to the server">
      READ-ONLY
    </span>
  );
}

function StatusCard({ profile, status }: { profile: ProfileSummary; status: AppStatus }) {
  return (
    <section className="card status-card" aria-label="Connection">
      <div className="status-head">
        <div>
          <div className="label">Profile</div>
          <div className="profile-name" data-testid="profile-name">
            {profile.name}
          </div>
        </div>
        <ModeBadge writeMode={profile.write_mode} />
      </div>
      <dl className="facts">
        <div>
          <dt>Server</dt>
          <dd className="mono">{profile.server}</dd>
        </div>
        <div>
          <dt>Connection</dt>
          <dd>
            <span className={status.connected ? 'dot dot-ok' : 'dot dot-off'} aria-hidden="true" />
            {status.connected ? 'Connected' : 'Not connected'}
          </dd>
        </div>
        <div>
          <dt>Server version</dt>
          <dd className="mono" data-testid="server-version">
            {status.server_version ?? '—'}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function DatabaseTable({ databases }: { databases: DatabaseSummary[] }) {
  return (
    <section className="card" aria-label="Plugin databases">
      <h2>
        Plugin databases <span className="count">{databases.length}</span>
      </h2>
      {databases.length === 0 ? (
        <p className="muted">No plugin databases found on this server.</p>
      ) : (
        <table className="db-table">
          <thead>
            <tr>
              <th scope="col">Database</th>
              <th scope="col">Areas</th>
              <th scope="col" className="num">
                Size
              </th>
            </tr>
          </thead>
          <tbody>
            {databases.map((db) => (
              <tr key={db.name} data-testid="database-row">
                <td className="mono">{db.name}</td>
                <td>
                  {db.areas.length === 0 ? (
                    <span className="muted">—</span>
                  ) : (
                    <ul className="areas">
                      {db.areas.map((area) => (
                        <li key={area} className="chip">
                          {area}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td className="num" title={db.size_bytes === null ? 'unknown' : `${db.size_bytes} bytes`}>
                  {formatBytes(db.size_bytes)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export default function App() {
  const [state, setState] = useState<LoadState>({ kind: 'loading' });
  // Kept across refreshes so the header does not flicker while reloading.
  const [version, setVersion] = useState<string | null>(null);

  const load = useCallback(async () => {
    setState({ kind: 'loading' });
    try {
      const status = await appStatus();
      setVersion(status.version);
      setState({ kind: 'ready', status });
    } catch (err) {
      setState({ kind: 'failed', error: toApiError(err) });
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="app" data-testid="app">
      <header className="app-header">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <h1>Backstage Inspector</h1>
          {version !== null && <span className="version">v{version}</span>}
        </div>
        <button type="button" className="button" onClick={() => void load()} disabled={state.kind === 'loading'}>
          Refresh
        </button>
      </header>

      <main className="content" aria-busy={state.kind === 'loading'}>
        {state.kind === 'loading' && (
          <div className="card loading" data-testid="loading" role="status">
            <span className="spinner" aria-hidden="true" />
            Loading status…
          </div>
        )}

        {state.kind === 'failed' && <ErrorBox error={state.error} />}

        {state.kind === 'ready' && (
          <>
            {state.status.error !== null && <ErrorBox error={state.status.error} />}
            {state.status.profile === null ? (
              <EmptyState />
            ) : (
              <>
                <StatusCard profile={state.status.profile} status={state.status} />
                <DatabaseTable databases={state.status.databases} />
              </>
            )}
          </>
        )}
      </main>
    </div>
  );
}
