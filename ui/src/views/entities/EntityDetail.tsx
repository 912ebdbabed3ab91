// The detail pane of one entity: overview, JSON tree, YAML, relations, processing state and
// errors, the scaffolder tasks that created it, and sessions of a user or group.
import * as cmd from '../../commands';
import type { EntityDetail } from '../../bindings/EntityDetail';
import type { EntityView } from '../../bindings/EntityView';
import type { RelationEdge } from '../../bindings/RelationEdge';
import { JsonTree } from '../../components/JsonTree';
import { RefLink, StatusPill } from '../../components/Ref';
import { Empty, ErrorBox, Notes, QueryView } from '../../components/states';
import { Tabs } from '../../components/Tabs';
import { formatDuration, formatTime, timeAgo } from '../../lib/format';
import { useNav } from '../../lib/nav';
import { useStickyState } from '../../lib/sticky';
import { useQuery } from '../../lib/useQuery';
import { SessionsTables } from '../sessions/SessionsTables';
import { WhyPanel } from './WhyPanel';

type Tab = 'overview' | 'json' | 'yaml' | 'relations' | 'processing' | 'tasks' | 'sessions' | 'why';

export function EntityDetailPane({ entityRef, onClose }: { entityRef: string; onClose: () => void }) {
  const nav = useNav();
  const q = useQuery((op) => cmd.entity(entityRef, op), [entityRef]);
  const [tab, setTab] = useStickyState<Tab>('entity.tab', 'overview');
  const kind = entityRef.split(':')[0] ?? '';
  const people = kind === 'user' || kind === 'group';
  const d0 = q.data?.detail;
  const errors = d0?.processing?.errors.length ?? 0;
  const rels = (d0?.outgoing?.length ?? 0) + (d0?.incoming?.length ?? 0);

  return (
    <aside className="pane" data-testid="entity-detail">
      <div className="pane-head">
        <h2 data-testid="entity-ref">{entityRef}</h2>
        <button
          type="button"
          className="button"
          data-testid="open-graph"
          onClick={() => nav.navigate({ view: 'graph', root: entityRef })}
        >
          Graph
        </button>
        <button type="button" className="icon-button" aria-label="Close (Esc)" title="Close (Esc)" onClick={onClose}>
          ×
        </button>
      </div>
      <Tabs<Tab>
        testid="entity-tabs"
        active={tab === 'sessions' && !people ? 'overview' : tab}
        onChange={setTab}
        tabs={[
          { id: 'overview', label: 'Overview' },
          { id: 'json', label: 'JSON' },
          { id: 'yaml', label: 'YAML' },
          { id: 'relations', label: `Relations${q.data ? ` ${rels}` : ''}` },
          { id: 'processing', label: errors ? <span className="bad">Processing ({errors})</span> : 'Processing' },
          { id: 'tasks', label: 'Tasks' },
          ...(people ? [{ id: 'sessions' as const, label: 'Sessions' }] : []),
          { id: 'why', label: 'Why?' },
        ]}
      />
      <div className="pane-body">
        {tab === 'why' ? (
          // Asked on its own: it answers for refs the catalog does not have too.
          <WhyPanel entityRef={entityRef} />
        ) : (
          <QueryView q={q} what="entity">
            {(v) => {
              const d = v.detail;
              const t = tab === 'sessions' && !people ? 'overview' : tab;
              switch (t) {
                case 'overview':
                  return <Overview d={d} />;
                case 'json':
                  return d.entity ? <JsonTree value={d.entity} open={2} /> : <Empty title="No readable JSON stored" />;
                case 'yaml':
                  return d.yaml ? (
                    <pre className="code" data-testid="entity-yaml">
                      {d.yaml}
                    </pre>
                  ) : (
                    <Empty title="No readable entity stored" />
                  );
                case 'relations':
                  return <Relations d={d} />;
                case 'processing':
                  return <Processing d={d} />;
                case 'tasks':
                  return <Tasks v={v} />;
                case 'sessions':
                  return <SessionsFor v={v} />;
              }
            }}
          </QueryView>
        )}
      </div>
    </aside>
  );
}

function meta(d: EntityDetail): Record<string, unknown> {
  const e = d.entity as Record<string, unknown> | null;
  return ((e?.metadata as Record<string, unknown>) ?? {}) as Record<string, unknown>;
}

function Overview({ d }: { d: EntityDetail }) {
  const m = meta(d);
  const spec = ((d.entity as Record<string, unknown> | null)?.spec ?? {}) as Record<string, unknown>;
  const annotations = (m.annotations ?? {}) as Record<string, string>;
  return (
    <>
      <div className="toolbar">
        {d.in_final ? (
          <span className="chip chip-ok">in final_entities</span>
        ) : (
          <span className="chip chip-bad">not stitched</span>
        )}
        {d.source && d.source !== 'final' && <span className="chip chip-warn">shown from {d.source} entity</span>}
        {d.orphan && <span className="chip chip-warn">orphan</span>}
        {(d.processing?.errors.length ?? 0) > 0 && <span className="chip chip-bad">processing errors</span>}
      </div>
      <table className="kv-table">
        <tbody>
          {typeof m.title === 'string' && (
            <tr>
              <th>Title</th>
              <td>{m.title}</td>
            </tr>
          )}
          {typeof m.description === 'string' && (
            <tr>
              <th>Description</th>
              <td>{m.description}</td>
            </tr>
          )}
          {(['type', 'lifecycle', 'owner', 'system', 'domain'] as const).map((k) =>
            typeof spec[k] === 'string' ? (
              <tr key={k}>
                <th>{k}</th>
                <td className="mono">{spec[k] as string}</td>
              </tr>
            ) : null,
          )}
          {Array.isArray(m.tags) && m.tags.length > 0 && (
            <tr>
              <th>Tags</th>
              <td>
                {(m.tags as string[]).map((t) => (
                  <span key={t} className="chip">
                    {t}
                  </span>
                ))}
              </td>
            </tr>
          )}
          {typeof m.uid === 'string' && (
            <tr>
              <th>uid</th>
              <td className="mono small">{m.uid}</td>
            </tr>
          )}
          <tr>
            <th>Updated</th>
            <td>{d.last_updated_at ? `${formatTime(d.last_updated_at)} (${timeAgo(d.last_updated_at)})` : '—'}</td>
          </tr>
          {d.processing?.location_key && (
            <tr>
              <th>Location key</th>
              <td className="mono small">{d.processing.location_key}</td>
            </tr>
          )}
        </tbody>
      </table>
      {Object.keys(annotations).length > 0 && (
        <>
          <h3 className="sub">Annotations</h3>
          <table className="kv-table small">
            <tbody>
              {Object.entries(annotations).map(([k, v]) => (
                <tr key={k}>
                  <th className="mono">{k}</th>
                  <td className="mono">{String(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

function EdgeTable({ edges, dir }: { edges: RelationEdge[]; dir: 'out' | 'in' }) {
  if (edges.length === 0) return <div className="muted small">none</div>;
  return (
    <table className="grid-table" data-testid={`relations-${dir}`}>
      <tbody>
        {edges.map((e) => (
          <tr key={e.type + e.entity_ref}>
            <td className="mono small nowrap">{dir === 'out' ? `${e.type} →` : `← ${e.type}`}</td>
            <td>
              <RefLink entityRef={e.entity_ref} missing={!e.exists} />
              {!e.exists && <span className="chip chip-bad">missing</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Relations({ d }: { d: EntityDetail }) {
  if (!d.outgoing && !d.incoming) return <Empty title="This catalog has no relations table" />;
  return (
    <>
      <h3 className="sub">Outgoing ({d.outgoing?.length ?? 0})</h3>
      <EdgeTable edges={d.outgoing ?? []} dir="out" />
      <h3 className="sub">Incoming ({d.incoming?.length ?? 0})</h3>
      <EdgeTable edges={d.incoming ?? []} dir="in" />
    </>
  );
}

function Processing({ d }: { d: EntityDetail }) {
  const p = d.processing;
  if (!p) return <Empty title="No refresh_state row">The processing loop does not know this entity.</Empty>;
  return (
    <>
      <table className="kv-table">
        <tbody>
          <tr>
            <th>entity_id</th>
            <td className="mono small">{p.entity_id}</td>
          </tr>
          <tr>
            <th>Last discovery</th>
            <td>{p.last_discovery_at ? `${formatTime(p.last_discovery_at)} (${timeAgo(p.last_discovery_at)})` : '—'}</td>
          </tr>
          <tr>
            <th>Next update</th>
            <td>{p.next_update_at ? `${formatTime(p.next_update_at)} (${timeAgo(p.next_update_at)})` : '—'}</td>
          </tr>
          <tr>
            <th>Location key</th>
            <td className="mono small">{p.location_key ?? '—'}</td>
          </tr>
          <tr>
            <th>Orphan</th>
            <td>
              {d.orphan ? 'yes' : 'no'}
              {d.unreferenced !== undefined && d.unreferenced !== null && ` · unreferenced: ${d.unreferenced ? 'yes' : 'no'}`}
              {d.orphan_annotation && ' · backstage.io/orphan annotation'}
            </td>
          </tr>
        </tbody>
      </table>
      {p.never_processed && <div className="callout callout-warn">Never processed yet.</div>}
      {p.errors.length === 0 ? (
        <div className="ok small">No processing errors.</div>
      ) : (
        p.errors.map((e, i) => (
          <div key={i} className="callout callout-bad" data-testid="processing-error">
            <strong>{e.name}</strong>: {e.message}
            {e.cause && <div className="small">cause: {e.cause}</div>}
          </div>
        ))
      )}
    </>
  );
}

function Tasks({ v }: { v: EntityView }) {
  const nav = useNav();
  if (v.tasks_error) return <ErrorBox error={v.tasks_error} />;
  const t = v.tasks;
  if (!t || t.items.length === 0) return <Empty title="No scaffolder task created this entity" />;
  return (
    <>
      {t.matched > t.items.length && (
        <div className="muted small">
          {t.items.length} of {t.matched} tasks shown
        </div>
      )}
      <table className="grid-table" data-testid="entity-tasks">
        <thead>
          <tr>
            <th>Status</th>
            <th>Created</th>
            <th>Template</th>
            <th>Via</th>
            <th className="num">Duration</th>
          </tr>
        </thead>
        <tbody>
          {t.items.map((x) => (
            <tr key={x.id} className="clickable" onClick={() => nav.navigate({ view: 'scaffolder', task: x.id })}>
              <td>
                <StatusPill status={x.display_status} />
              </td>
              <td className="nowrap">{formatTime(x.created_at)}</td>
              <td className="mono small">{x.template_ref ?? '—'}</td>
              <td className="small">{x.via.join(', ')}</td>
              <td className="num">{formatDuration(x.duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function SessionsFor({ v }: { v: EntityView }) {
  if (v.sessions_error) return <ErrorBox error={v.sessions_error} />;
  const s = v.sessions;
  if (!s) return <Empty title="Sessions are shown for users and groups" />;
  return (
    <>
      <Notes notes={s.notes} />
      {s.kind === 'group' && (
        <div className="small">
          Members:{' '}
          {s.users.map((u) => (
            <RefLink key={u.entity_ref} entityRef={u.entity_ref} />
          ))}
        </div>
      )}
      <SessionsTables offline={s.offline} browser={s.browser} oauth={s.oauth} users={s.user_info} />
    </>
  );
}
