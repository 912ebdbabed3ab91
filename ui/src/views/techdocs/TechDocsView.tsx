// TechDocs: entities with the techdocs-ref annotation and whether the search index has their
// pages; where the documentation itself lives.
import { useState } from 'react';
import * as cmd from '../../commands';
import type { TechDocsEntity } from '../../bindings/TechDocsEntity';
import type { TechDocsList } from '../../bindings/TechDocsList';
import { Progress } from '../../components/Progress';
import { RefLink } from '../../components/Ref';
import { Empty, ErrorBox } from '../../components/states';
import { formatCount } from '../../lib/format';
import { usePaged } from '../../lib/usePaged';

export function TechDocsView() {
  const [meta, setMeta] = useState<TechDocsList | null>(null);
  const list = usePaged<TechDocsEntity, TechDocsList>((cursor, op) => cmd.techdocs({ limit: 200, cursor }, op), [], setMeta);
  return (
    <div className="view" data-testid="techdocs">
      <div className="view-head">
        <h1>TechDocs</h1>
        {meta && (
          <span className="muted">
            {formatCount(meta.total)} entities with documentation · read from {meta.source}
          </span>
        )}
      </div>
      {meta && <div className="callout small">{meta.metadata}</div>}
      {meta && !meta.search.available && (
        <div className="callout callout-warn small">Search index not readable: {meta.search.reason}</div>
      )}
      {list.loading && !list.loaded && <Progress label="Reading TechDocs" onCancel={list.cancel} />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.loaded && list.items.length === 0 && !list.error && (
        <Empty title="No entity has a backstage.io/techdocs-ref annotation" />
      )}
      {list.items.length > 0 && (
        <table className="grid-table">
          <thead>
            <tr>
              <th>Entity</th>
              <th>Title</th>
              <th>techdocs-ref</th>
              <th className="num">Indexed pages</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((t) => (
              <tr key={t.entity_ref} data-testid="techdocs-row">
                <td>
                  <RefLink entityRef={t.entity_ref} />
                </td>
                <td>
                  {t.problem ? (
                    <span className="warn" data-testid="row-problem" title={t.problem}>
                      {t.problem}
                    </span>
                  ) : (
                    (t.title ?? '')
                  )}
                </td>
                <td className="mono small">{t.techdocs_ref}</td>
                <td className="num">
                  {t.search_documents === null ? '?' : Number(t.search_documents) === 0 ? <span className="warn">0</span> : formatCount(t.search_documents)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.hasMore && (
        <button type="button" className="button" onClick={list.loadMore} disabled={list.loading}>
          {list.loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  );
}
