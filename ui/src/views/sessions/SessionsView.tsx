// Sessions and tokens of the auth backend, masked; a JWT pasted here is decoded on request
// (header and claims, never the signature).
import { useState } from 'react';
import * as cmd from '../../commands';
import type { BrowserSession } from '../../bindings/BrowserSession';
import type { OfflineSession } from '../../bindings/OfflineSession';
import type { TokenView } from '../../bindings/TokenView';
import type { UserInfo } from '../../bindings/UserInfo';
import { JsonTree } from '../../components/JsonTree';
import { Progress } from '../../components/Progress';
import { Empty, ErrorBox, QueryView } from '../../components/states';
import { Tabs } from '../../components/Tabs';
import { toUiError, type UiError } from '../../lib/errors';
import { formatAge, formatTime } from '../../lib/format';
import { useStickyState } from '../../lib/sticky';
import { usePaged } from '../../lib/usePaged';
import { useQuery } from '../../lib/useQuery';
import { BrowserTable, OAuthTable, OfflineTable, UserInfoTable } from './SessionsTables';

type Tab = 'offline' | 'browser' | 'oauth' | 'keys' | 'users' | 'jwt';

export function SessionsView() {
  const [tab, setTab] = useStickyState<Tab>('sessions.tab', 'offline');
  return (
    <div className="view" data-testid="sessions">
      <div className="view-head">
        <h1>Sessions &amp; tokens</h1>
        <span className="muted">Tokens and ids are masked; secrets never leave the core.</span>
      </div>
      <Tabs<Tab>
        active={tab}
        onChange={setTab}
        testid="sessions-tabs"
        tabs={[
          { id: 'offline', label: 'Offline (refresh tokens)' },
          { id: 'browser', label: 'Browser' },
          { id: 'oauth', label: 'OAuth' },
          { id: 'keys', label: 'Signing keys' },
          { id: 'users', label: 'User info' },
          { id: 'jwt', label: 'Decode JWT' },
        ]}
      />
      {tab === 'offline' && <Paged kind="offline" />}
      {tab === 'browser' && <Paged kind="browser" />}
      {tab === 'users' && <Paged kind="users" />}
      {tab === 'oauth' && <OAuth />}
      {tab === 'keys' && <Keys />}
      {tab === 'jwt' && <DecodeJwt />}
    </div>
  );
}

function Paged({ kind }: { kind: 'offline' | 'browser' | 'users' }) {
  const list = usePaged<OfflineSession | BrowserSession | UserInfo>(
    (cursor, op) => {
      const args = { users: null, limit: 200, cursor };
      if (kind === 'offline') return cmd.offlineSessions(args, op);
      if (kind === 'browser') return cmd.browserSessions(args, op);
      return cmd.userInfo(args, op);
    },
    [kind],
  );
  return (
    <>
      {list.loading && !list.loaded && <Progress label="Reading sessions" onCancel={list.cancel} />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.loaded && list.items.length === 0 && !list.error && <Empty title="None stored" />}
      {list.items.length > 0 &&
        (kind === 'offline' ? (
          <OfflineTable rows={list.items as OfflineSession[]} />
        ) : kind === 'browser' ? (
          <BrowserTable rows={list.items as BrowserSession[]} />
        ) : (
          <UserInfoTable rows={list.items as UserInfo[]} />
        ))}
      {list.hasMore && (
        <button type="button" className="button" onClick={list.loadMore} disabled={list.loading}>
          {list.loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </>
  );
}

function OAuth() {
  const q = useQuery((op) => cmd.oauthSessions({ users: null, limit: 50, cursor: null }, op), []);
  return (
    <QueryView q={q} what="OAuth sessions">
      {(groups) =>
        groups.length === 0 ? (
          <Empty title="No OAuth authorization sessions" />
        ) : (
          <>
            {groups.map((g) => (
              <div key={g.status ?? 'null'}>
                <h3 className="sub">
                  {g.status ?? '(no status)'} · {String(g.count)}
                </h3>
                <OAuthTable rows={g.sessions} />
              </div>
            ))}
          </>
        )
      }
    </QueryView>
  );
}

function Keys() {
  const q = useQuery((op) => cmd.signingKeys(op), []);
  return (
    <QueryView q={q} what="signing keys">
      {(keys) =>
        keys.length === 0 ? (
          <Empty title="No signing keys" />
        ) : (
          <table className="grid-table" data-testid="signing-keys">
            <thead>
              <tr>
                <th>kid</th>
                <th>alg</th>
                <th>Created</th>
                <th className="num">Age</th>
                <th>Public JWK</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.kid}>
                  <td className="mono small">{k.kid}</td>
                  <td>
                    {k.alg ?? '—'} {k.kty} {k.crv}
                  </td>
                  <td className="nowrap">{formatTime(k.created_at)}</td>
                  <td className="num">{formatAge(k.age_seconds)}</td>
                  <td>
                    {k.private_material && (
                      <div className="chip chip-bad">private members stored (not shown): Backstage stores public keys only</div>
                    )}
                    <JsonTree value={k.public_jwk} open={0} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </QueryView>
  );
}

function DecodeJwt() {
  const [token, setToken] = useState('');
  const [result, setResult] = useState<TokenView | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  return (
    <div className="card" data-testid="jwt-decoder">
      <p className="small muted">
        Paste a token to see its header and claims. Nothing is sent anywhere; the signature is never shown.
      </p>
      <form
        className="toolbar"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          setResult(null);
          try {
            setResult(await cmd.decodeJwt(token.trim()));
          } catch (err) {
            setError(toUiError(err));
          }
          // The raw token does not stay on the page.
          setToken('');
        }}
      >
        <input
          className="input grow mono"
          type="password"
          autoComplete="off"
          placeholder="eyJhbGciOi…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          data-search
          data-testid="jwt-input"
        />
        <button type="submit" className="button button-primary" disabled={!token.trim()} data-testid="jwt-decode">
          Decode
        </button>
      </form>
      {error && <ErrorBox error={error} />}
      {result && (
        <div data-testid="jwt-result">
          <div className="toolbar small">
            {result.backstage_user_token && <span className="chip">Backstage user token</span>}
            {result.expires_at && (
              <span className={result.expired ? 'chip chip-bad' : 'chip chip-ok'}>
                {result.expired ? 'expired' : 'expires'} {formatTime(result.expires_at)}
              </span>
            )}
            {result.issued_at && <span className="chip">issued {formatTime(result.issued_at)}</span>}
            <span className="chip">signature: {result.signature}</span>
          </div>
          <h3 className="sub">Header</h3>
          <JsonTree value={result.header} />
          <h3 className="sub">Claims</h3>
          <JsonTree value={result.claims} />
        </div>
      )}
    </div>
  );
}

