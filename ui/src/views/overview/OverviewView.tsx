// The overview: the doctor's findings first (read beside the rest, so they never hold it up),
// then each plugin database with its areas, size and Knex state (a held lock stands out), and
// the health counts of the catalog, scaffolder and auth.
import { useEffect } from 'react';
import * as cmd from '../../commands';
import type { Count } from '../../bindings/Count';
import type { DatabaseInfo } from '../../bindings/DatabaseInfo';
import type { Era } from '../../bindings/Era';
import type { KnexTable } from '../../bindings/KnexTable';
import type { Overview } from '../../bindings/Overview';
import { Progress } from '../../components/Progress';
import { Empty, ErrorBox } from '../../components/states';
import { formatBytes, formatCount } from '../../lib/format';
import { useNav, type Route } from '../../lib/nav';
import { useSession } from '../../lib/session';
import { useQuery } from '../../lib/useQuery';
import { Health } from './Health';
import { InstallationList, OtherInstallationsNote, useInstallations } from './Installations';

function Stat({ label, count, bad, to, testid }: { label: string; count: Count; bad?: boolean; to?: Route; testid: string }) {
  const nav = useNav();
  const n = count.value === null ? null : Number(count.value);
  const cls = `stat${bad && n ? ' bad' : ''}`;
  const body = (
    <>
      <div className="v" data-testid={testid}>
        {n === null ? '—' : formatCount(n)}
      </div>
      <div className="k">{label}</div>
    </>
  );
  if (count.unavailable) {
    return (
      <div className={cls} title={`${count.unavailable.code}: ${count.unavailable.message}`}>
        {body}
      </div>
    );
  }
  return to ? (
    <button type="button" className={cls} onClick={() => nav.navigate(to)}>
      {body}
    </button>
  ) : (
    <div className={cls}>{body}</div>
  );
}

/** A long identifier that may wrap after each `_` (and anywhere, if it must). */
export function Ident({ text }: { text: string }) {
  const parts = text.split('_').map((p, i, all) => (i < all.length - 1 ? `${p}_` : p)).filter((p) => p !== '');
  return (
    <span className="ident" title={text}>
      {parts.map((p, i) => (
        <span key={i}>
          {p}
          {i < parts.length - 1 && <wbr />}
        </span>
      ))}
    </span>
  );
}

function KnexRows({ rows }: { rows: KnexTable[] }) {
  if (rows.length === 0) return null;
  return (
    <ul className="knex-list small">
      {rows.map((k) => (
        <li key={k.schema + k.table} data-testid="knex-row">
          <div className="mono">
            <Ident text={k.table} />
          </div>
          <div>
            {String(k.applied)} migrations{k.newest ? <>, newest <Ident text={k.newest} /></> : ''}{' '}
            {k.locked ? (
              <span className="chip chip-bad" data-testid="knex-locked">
                LOCK HELD
              </span>
            ) : (
              <span className="muted">unlocked</span>
            )}
          </div>
        </li>
      ))}
    </ul>
  );
}

// Which Backstage the database's Knex tables say this is: the plugin's own table on the line,
// every table and what newer versions add in the tooltip.
function EraLine({ eras }: { eras: Era[] }) {
  const own = eras.find((e) => e.table === 'knex_migrations') ?? eras[0];
  if (!own) return null;
  const title = eras
    .map((e) => {
      const next = e.identity.next;
      const first = next[0];
      const more = first ? `; newer versions add ${next.length}, from ${first.first_version}: ${first.name}` : '';
      return `${e.table}: ${e.identity.summary}${more}`;
    })
    .join('\n');
  return (
    <div className="small" data-testid="era" title={title}>
      <span className="muted">Backstage: </span>
      {own.identity.summary}
    </div>
  );
}

function DatabaseCard({ db, knex, o }: { db: DatabaseInfo; knex: KnexTable[]; o: Overview }) {
  const nav = useNav();
  const locked = knex.some((k) => k.locked);
  const c = o.counts;
  const name = db.schema ? `${db.database}.${db.schema}` : db.database;
  return (
    <section className={locked ? 'card alert' : 'card'} data-testid="database-row">
      <div className="card-head">
        <h2>
          <Ident text={name} />
        </h2>
        <span className="muted small nowrap">{formatBytes(db.size_bytes)}</span>
      </div>
      <div>
        {db.areas.length === 0 ? (
          <span className="muted small">no known Backstage tables</span>
        ) : (
          db.areas.map((a) => (
            <span key={a} className="chip">
              {a}
            </span>
          ))
        )}
        <span className="muted small">
          {' '}
          · {db.tables} tables{db.knex_managed ? ' · managed by Backstage (Knex)' : ''}
        </span>
      </div>
      <EraLine eras={o.eras.filter((e) => e.database === db.database && (!db.schema || e.schema === db.schema))} />
      {db.error && <ErrorBox error={db.error} />}
      {db.areas.includes('catalog') && (
        <div className="stats">
          <Stat label="entities" count={c.entities} to={{ view: 'entities' }} testid="count-entities" />
          <Stat label="processing errors" count={c.processing_errors} bad to={{ view: 'errors' }} testid="count-errors" />
          <Stat label="orphans" count={c.orphans} to={{ view: 'orphans' }} testid="count-orphans" />
        </div>
      )}
      {db.areas.includes('scaffolder') && (
        <div className="stats">
          <Stat label="failed tasks 24 h" count={c.failed_tasks_24h} bad to={{ view: 'scaffolder' }} testid="count-failed-tasks" />
        </div>
      )}
      {db.areas.includes('auth') && (
        <div className="stats">
          <Stat label="active sessions" count={c.active_sessions} to={{ view: 'sessions' }} testid="count-sessions" />
        </div>
      )}
      <KnexRows rows={knex} />
      {locked && (
        <div className="callout callout-bad small">
          A Knex migration lock is held: Backstage will not start ("Migration table is already locked").{' '}
          <button type="button" className="button-link" onClick={() => nav.navigate({ view: 'knex' })}>
            See Knex
          </button>
        </div>
      )}
    </section>
  );
}

export function OverviewView() {
  const session = useSession();
  const p = session.status?.profile;
  const q = useQuery((op) => cmd.overview(op), [p?.name, p?.write_mode, p?.layout], p != null);
  // The doctor's pass starts once the overview is on screen (or failed), on its own operation
  // id: it reads every database again, and the first screen must not wait for it.
  const overviewSettled = q.data != null || q.status === 'failed';
  const health = useQuery((op) => cmd.doctor(op), [p?.name, p?.layout], p != null && overviewSettled);
  const cancelHealth = health.cancel;
  // Leaving the Overview stops a pass that is still running.
  useEffect(() => cancelHealth, [cancelHealth]);
  // Read after the overview, so that the first screen does not wait for every database.
  const inst = useInstallations(q.data != null);

  if (session.error) {
    return (
      <div className="view">
        <ErrorBox error={session.error} onRetry={session.reload} />
      </div>
    );
  }
  if (!session.loading && session.status && session.status.profile === null) {
    return (
      <div className="view">
        <Empty title="No profile is open">
          Open or add one in Connections, or start with <code>bsi demo</code>.
        </Empty>
      </div>
    );
  }
  const o = q.data;
  return (
    <div className="view" data-testid="overview">
      <div className="view-head">
        <h1>Overview</h1>
        {o && (
          <span className="muted">
            PostgreSQL <span className="mono" data-testid="server-version">{o.discovery.server.version}</span> ·{' '}
            {o.discovery.mode} layout · {o.discovery.databases.length} databases
            {o.discovery.server.tls ? ` · ${o.discovery.server.tls}` : ' · not encrypted'}
          </span>
        )}
        {p?.switched && (
          <span className="chip chip-warn" data-testid="switched-layout" title="Chosen for this run; the saved profile is unchanged">
            this run: {p.layout}
          </span>
        )}
        <span className="spacer" />
        <button
          type="button"
          className="button"
          onClick={() => {
            q.reload();
            health.reload();
          }}
          disabled={q.status === 'loading'}
        >
          Refresh
        </button>
      </div>
      <Health q={health} />
      {q.status === 'loading' && (
        <Progress label="Reading the databases" onCancel={q.cancel} />
      )}
      {q.error && <ErrorBox error={q.error} onRetry={q.reload} />}
      {o && o.knex_error && <ErrorBox error={o.knex_error} />}
      {inst.data && <OtherInstallationsNote data={inst.data} />}
      {o &&
        (o.discovery.databases.length === 0 ? (
          <Empty title="No plugin databases found with this profile's layout">
            Check the database prefix and layout of the profile in Connections, or choose one of the installations
            found on this server below.
          </Empty>
        ) : (
          <div className="cards">
            {o.discovery.databases.map((db) => (
              <DatabaseCard
                key={db.database + (db.schema ?? '')}
                db={db}
                o={o}
                knex={o.knex.filter((k) => k.database === db.database && (!db.schema || k.schema === db.schema))}
              />
            ))}
          </div>
        ))}
      {o && (
        <details className="installations-box" open={inst.data?.suggest_others || o.discovery.databases.length === 0}>
          <summary>
            Backstage installations on this server
            {inst.data ? ` (${inst.data.installations.length})` : ''}
          </summary>
          {inst.status === 'loading' && <span className="muted small">Looking at every database on the server…</span>}
          {inst.error && <ErrorBox error={inst.error} onRetry={inst.reload} />}
          {inst.data && <InstallationList data={inst.data} />}
        </details>
      )}
    </div>
  );
}
