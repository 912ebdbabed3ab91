// Entities whose processing fails, and orphaned entities: paged lists that open the entity.
import * as cmd from '../../commands';
import type { ErroredEntity } from '../../bindings/ErroredEntity';
import type { OrphanEntity } from '../../bindings/OrphanEntity';
import { Progress } from '../../components/Progress';
import { RefLink } from '../../components/Ref';
import { Empty, ErrorBox } from '../../components/states';
import { formatTime, timeAgo } from '../../lib/format';
import { usePaged } from '../../lib/usePaged';

function More({ hasMore, loading, loadMore }: { hasMore: boolean; loading: boolean; loadMore: () => void }) {
  if (!hasMore) return null;
  return (
    <button type="button" className="button" onClick={loadMore} disabled={loading} data-testid="load-more">
      {loading ? 'Loading…' : 'Load more'}
    </button>
  );
}

export function ErrorsView() {
  const list = usePaged<ErroredEntity>((cursor, op) => cmd.processingErrors({ limit: 100, cursor }, op), []);
  return (
    <div className="view" data-testid="processing-errors">
      <div className="view-head">
        <h1>Processing errors</h1>
        <span className="muted">
          {list.items.length}
          {list.hasMore ? '+' : ''} entities
        </span>
      </div>
      {list.loading && !list.loaded && <Progress label="Reading refresh_state" onCancel={list.cancel} />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.loaded && list.items.length === 0 && !list.error && <Empty title="No processing errors">Every entity processes cleanly.</Empty>}
      {list.items.length > 0 && (
        <table className="grid-table">
          <thead>
            <tr>
              <th>Entity</th>
              <th>Errors</th>
              <th>In catalog</th>
              <th>Last discovery</th>
              <th>Location</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((e) => (
              <tr key={e.entity_ref} data-testid="error-row">
                <td>
                  <RefLink entityRef={e.entity_ref} />
                </td>
                <td>
                  {e.errors.map((x, i) => (
                    <div key={i} className="small">
                      <strong className="bad">{x.name}</strong>: {x.message}
                      {x.cause && <div className="muted">cause: {x.cause}</div>}
                    </div>
                  ))}
                </td>
                <td>
                  {e.in_final === undefined || e.in_final === null ? (
                    '?'
                  ) : e.in_final ? (
                    <span className="small">older version</span>
                  ) : (
                    <span className="chip chip-bad">never reached</span>
                  )}
                </td>
                <td className="nowrap" title={formatTime(e.last_discovery_at)}>
                  {timeAgo(e.last_discovery_at)}
                </td>
                <td className="mono small">{e.location_key ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <More hasMore={list.hasMore} loading={list.loading} loadMore={list.loadMore} />
    </div>
  );
}

export function OrphansView() {
  const list = usePaged<OrphanEntity>((cursor, op) => cmd.orphans({ limit: 100, cursor }, op), []);
  return (
    <div className="view" data-testid="orphans">
      <div className="view-head">
        <h1>Orphans</h1>
        <span className="muted">
          {list.items.length}
          {list.hasMore ? '+' : ''} entities no longer emitted by their parent, or annotated backstage.io/orphan
        </span>
      </div>
      {list.loading && !list.loaded && <Progress label="Reading orphans" onCancel={list.cancel} />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.loaded && list.items.length === 0 && !list.error && <Empty title="No orphans" />}
      {list.items.length > 0 && (
        <table className="grid-table">
          <thead>
            <tr>
              <th>Entity</th>
              <th>Unreferenced</th>
              <th>Orphan annotation</th>
              <th>In catalog</th>
              <th>Location</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((e) => (
              <tr key={e.entity_ref} data-testid="orphan-row">
                <td>
                  <RefLink entityRef={e.entity_ref} />
                </td>
                <td>{yesNo(e.unreferenced)}</td>
                <td>{yesNo(e.orphan_annotation)}</td>
                <td>{yesNo(e.in_final)}</td>
                <td className="mono small">{e.location_key ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <More hasMore={list.hasMore} loading={list.loading} loadMore={list.loadMore} />
    </div>
  );
}

function yesNo(v: boolean | null | undefined) {
  if (v === null || v === undefined) return <span className="muted">?</span>;
  return v ? 'yes' : 'no';
}
