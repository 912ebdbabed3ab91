import { useCallback, useEffect, useMemo, useState } from 'react';
import { appStatus } from './commands';
import type { AppStatus } from './bindings/AppStatus';
import { HelpOverlay } from './components/HelpOverlay';
import { Logo, ModeBadge } from './components/Shell';
import { isConnectionFailure, useConnectionState } from './lib/connection';
import { toUiError, type UiError } from './lib/errors';
import { useShortcuts } from './lib/keys';
import { NavContext, VIEWS, type Nav, type Route } from './lib/nav';
import { SessionContext, type Session } from './lib/session';
import { ViewFor, closePane } from './views';

export default function App() {
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [stack, setStack] = useState<Route[]>([{ view: 'overview' }]);
  const [help, setHelp] = useState(false);
  const [conn, setConn] = useConnectionState();
  // Bumped on a reconnection: the view shown is mounted again and reads afresh.
  const [epoch, setEpoch] = useState(0);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const s = await appStatus();
      setStatus(s);
      if (s.connected) setConn({ state: 'connected' });
      else if (s.error && isConnectionFailure(s.error)) setConn({ state: 'lost', error: s.error });
      setError(null);
    } catch (err) {
      setError(toUiError(err));
    } finally {
      setLoading(false);
    }
  }, [setConn]);

  useEffect(() => {
    void load();
  }, [load]);

  const reconnect = useCallback(async () => {
    await load();
    setEpoch((e) => e + 1);
  }, [load]);

  const route = stack[stack.length - 1] ?? { view: 'overview' };
  const nav: Nav = useMemo(
    () => ({
      route,
      navigate: (r) => setStack((s) => (JSON.stringify(s[s.length - 1]) === JSON.stringify(r) ? s : [...s, r].slice(-100))),
      replace: (r) => setStack((s) => [...s.slice(0, -1), r]),
      back: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
      canGoBack: stack.length > 1,
    }),
    [route, stack.length],
  );

  useShortcuts({
    back: nav.back,
    view: (i) => {
      const v = VIEWS[i];
      if (v) nav.navigate({ view: v.id } as Route);
    },
    viewByKey: (k) => {
      const v = VIEWS.find((x) => x.key === k);
      if (!v) return false;
      nav.navigate({ view: v.id } as Route);
      return true;
    },
    escape: () => {
      if (help) {
        setHelp(false);
        return true;
      }
      const closed = closePane(route);
      if (closed) {
        nav.replace(closed);
        return true;
      }
      return false;
    },
    help: () => setHelp((h) => !h),
  });

  const session: Session = { status, error, loading, reload: () => void load() };
  const profile = status?.profile ?? null;

  return (
    <SessionContext.Provider value={session}>
      <NavContext.Provider value={nav}>
        <div className="app" data-testid="app">
          <header className="app-header">
            <div className="brand">
              <Logo />
              <span className="brand-name">Backstage Inspector</span>
              {status && <span className="version">v{status.version}</span>}
            </div>
            <button
              type="button"
              className="icon-button"
              title="Back (Alt+←)"
              aria-label="Back"
              disabled={!nav.canGoBack}
              onClick={nav.back}
              data-testid="back"
            >
              ←
            </button>
            <div className="header-profile">
              {profile ? (
                <>
                  <span className="label">Profile</span>
                  <button
                    type="button"
                    className="profile-name"
                    data-testid="profile-name"
                    title="Connections"
                    onClick={() => nav.navigate({ view: 'connections' })}
                  >
                    {profile.name}
                  </button>
                  <span className="mono muted server" title="Server">
                    {profile.server}
                  </span>
                  <span
                    className={
                      conn.state === 'lost'
                        ? 'dot dot-bad'
                        : conn.state === 'connected' || status?.connected
                          ? 'dot dot-ok'
                          : status?.error
                            ? 'dot dot-bad'
                            : 'dot dot-off'
                    }
                    title={
                      conn.state === 'lost'
                        ? `Connection lost: ${conn.error.message}`
                        : conn.state === 'connected' || status?.connected
                          ? `Connected to PostgreSQL ${status?.server_version ?? ''}`
                          : status?.error
                            ? `${status.error.code}: ${status.error.message}`
                            : 'Not connected'
                    }
                    data-testid="connection-dot"
                    data-state={conn.state === 'lost' ? 'lost' : conn.state === 'connected' || status?.connected ? 'connected' : 'unknown'}
                  />
                  {conn.state === 'lost' && (
                    <span className="connection-lost" data-testid="connection-lost" title={conn.error.message}>
                      Connection lost
                      <button
                        type="button"
                        className="button small"
                        data-testid="reconnect"
                        disabled={loading}
                        onClick={() => void reconnect()}
                      >
                        Reconnect
                      </button>
                    </span>
                  )}
                  <ModeBadge writeMode={profile.write_mode} />
                </>
              ) : (
                <span className="muted">{loading ? 'Connecting…' : 'No profile'}</span>
              )}
            </div>
            <div className="header-actions">
              <button type="button" className="button" onClick={() => void load()} disabled={loading}>
                Refresh
              </button>
              <button
                type="button"
                className="icon-button"
                title="Keyboard shortcuts (?)"
                aria-label="Keyboard shortcuts"
                onClick={() => setHelp(true)}
              >
                ?
              </button>
            </div>
          </header>
          <nav className="sidebar" aria-label="Views" data-testid="sidebar">
            {VIEWS.map((v, i) => (
              <button
                key={v.id}
                type="button"
                className={route.view === v.id ? 'nav-item active' : 'nav-item'}
                aria-current={route.view === v.id ? 'page' : undefined}
                data-testid={`nav-${v.id}`}
                title={`${v.label} (${i < 9 ? `Ctrl+${i + 1}, ` : ''}g ${v.key})`}
                onClick={() => nav.navigate({ view: v.id } as Route)}
              >
                <span className="nav-label">{v.label}</span>
                <kbd className="nav-key">{v.key}</kbd>
              </button>
            ))}
          </nav>
          <main className="main" data-testid={`view-${route.view}`} aria-busy={loading}>
            <ViewFor key={epoch} route={route} />
          </main>
          {help && <HelpOverlay onClose={() => setHelp(false)} />}
        </div>
      </NavContext.Provider>
    </SessionContext.Provider>
  );
}
