// Tables of auth sessions; every token-like value arrives masked from the core.
import type { BrowserSession } from '../../bindings/BrowserSession';
import type { OAuthSession } from '../../bindings/OAuthSession';
import type { OfflineSession } from '../../bindings/OfflineSession';
import type { UserInfo } from '../../bindings/UserInfo';
import { JsonCell } from '../../components/JsonTree';
import { RefLink } from '../../components/Ref';
import { formatAge, formatTime } from '../../lib/format';

export function InCatalog({ v }: { v: boolean | null | undefined }) {
  if (v === null || v === undefined) return <span className="muted">?</span>;
  return v ? <span className="ok">yes</span> : <span className="chip chip-bad">not in catalog</span>;
}

export function OfflineTable({ rows }: { rows: ReadonlyArray<OfflineSession> }) {
  return (
    <table className="grid-table" data-testid="offline-sessions">
      <thead>
        <tr>
          <th>Token id (masked)</th>
          <th>User</th>
          <th>Client</th>
          <th>Created</th>
          <th className="num">Age</th>
          <th className="num">Idle</th>
          <th>In catalog</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.id + s.created_at}>
            <td className="mono small" data-testid="masked-token">
              {s.id}
            </td>
            <td>
              <RefLink entityRef={s.user_entity_ref} />
            </td>
            <td className="mono small">{s.oidc_client_id ?? '—'}</td>
            <td className="nowrap">{formatTime(s.created_at)}</td>
            <td className="num">{formatAge(s.age_seconds)}</td>
            <td className="num">{formatAge(s.idle_seconds)}</td>
            <td>
              <InCatalog v={s.in_catalog} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function BrowserTable({ rows }: { rows: ReadonlyArray<BrowserSession> }) {
  return (
    <table className="grid-table" data-testid="browser-sessions">
      <thead>
        <tr>
          <th>sid (masked)</th>
          <th>User</th>
          <th>Provider</th>
          <th>Expires</th>
          <th>Passport user</th>
          <th>In catalog</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.sid + s.expires_at}>
            <td className="mono small" data-testid="masked-token">
              {s.sid}
            </td>
            <td>{s.user_ref ? <RefLink entityRef={s.user_ref} /> : <span className="mono">{s.user ?? '—'}</span>}</td>
            <td>{s.provider ?? '—'}</td>
            <td className={s.is_expired ? 'muted nowrap' : 'nowrap'}>
              {formatTime(s.expires_at)} {s.is_expired && '(expired)'}
            </td>
            <td>{s.passport_user === null ? '—' : <JsonCell value={s.passport_user} />}</td>
            <td>
              <InCatalog v={s.in_catalog} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function OAuthTable({ rows }: { rows: ReadonlyArray<OAuthSession> }) {
  return (
    <table className="grid-table" data-testid="oauth-sessions">
      <thead>
        <tr>
          <th>id (masked)</th>
          <th>Client</th>
          <th>User</th>
          <th>Status</th>
          <th>Scope</th>
          <th>Expires</th>
          <th className="num">Codes used</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.id + s.expires_at}>
            <td className="mono small" data-testid="masked-token">
              {s.id}
            </td>
            <td className="mono small">{s.client_id}</td>
            <td>{s.user_entity_ref ? <RefLink entityRef={s.user_entity_ref} /> : '—'}</td>
            <td>{s.status ?? '—'}</td>
            <td className="small">{s.scope ?? '—'}</td>
            <td className={s.expired ? 'muted nowrap' : 'nowrap'}>{formatTime(s.expires_at)}</td>
            <td className="num">
              {s.codes === undefined || s.codes === null ? '—' : `${String(s.codes_used ?? 0)} / ${String(s.codes)}`}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function UserInfoTable({ rows }: { rows: ReadonlyArray<UserInfo> }) {
  return (
    <table className="grid-table" data-testid="user-info">
      <thead>
        <tr>
          <th>User</th>
          <th>Claims (redacted)</th>
          <th>Updated</th>
          <th>In catalog</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((u) => (
          <tr key={u.user_entity_ref}>
            <td>
              <RefLink entityRef={u.user_entity_ref} />
            </td>
            <td>
              <JsonCell value={u.claims} />
            </td>
            <td className="nowrap">{formatTime(u.updated_at)}</td>
            <td>
              <InCatalog v={u.in_catalog} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SessionsTables({
  offline,
  browser,
  oauth,
  users,
}: {
  offline: ReadonlyArray<OfflineSession>;
  browser: ReadonlyArray<BrowserSession>;
  oauth: ReadonlyArray<OAuthSession>;
  users: ReadonlyArray<UserInfo>;
}) {
  return (
    <>
      <h3 className="sub">Offline sessions (refresh tokens) · {offline.length}</h3>
      {offline.length ? <OfflineTable rows={offline} /> : <div className="muted small">none</div>}
      <h3 className="sub">Browser sessions · {browser.length}</h3>
      {browser.length ? <BrowserTable rows={browser} /> : <div className="muted small">none</div>}
      <h3 className="sub">OAuth sessions · {oauth.length}</h3>
      {oauth.length ? <OAuthTable rows={oauth} /> : <div className="muted small">none</div>}
      <h3 className="sub">User info · {users.length}</h3>
      {users.length ? <UserInfoTable rows={users} /> : <div className="muted small">none</div>}
    </>
  );
}
