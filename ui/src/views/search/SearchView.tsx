// The search backend's documents: types with counts, and ranked full-text results whose
// highlights are rendered as text and <mark> (never HTML).
import { useState } from 'react';
import * as cmd from '../../commands';
import type { SearchHit } from '../../bindings/SearchHit';
import type { SearchResults } from '../../bindings/SearchResults';
import { Highlighted } from '../../components/Highlighted';
import { JsonTree } from '../../components/JsonTree';
import { Progress } from '../../components/Progress';
import { Empty, ErrorBox } from '../../components/states';
import { formatCount } from '../../lib/format';
import { useStickyState } from '../../lib/sticky';
import { usePaged } from '../../lib/usePaged';
import { useDebounced, useQuery } from '../../lib/useQuery';

export function SearchView() {
  const [text, setText] = useStickyState('search.text', '');
  const [docType, setDocType] = useStickyState('search.type', '');
  const [meta, setMeta] = useState<SearchResults | null>(null);
  const [openHit, setOpenHit] = useState<number | null>(null);
  const query = useDebounced(text.trim(), 300);
  const types = useQuery((op) => cmd.searchTypes(op), []);
  const list = usePaged<SearchHit, SearchResults>(
    (cursor, op) =>
      query ? cmd.search({ query, doc_type: docType || null, limit: 50, cursor }, op) : Promise.resolve(emptyResults()),
    [query, docType],
    (first) => setMeta(query ? first : null),
  );

  return (
    <div className="view" data-testid="search">
      <div className="view-head">
        <h1>Search documents</h1>
        {meta && (
          <span className="muted">
            {formatCount(meta.total)} matches for <span title={`as PostgreSQL searches it: ${meta.tsquery}`}>“{meta.query}”</span>
          </span>
        )}
      </div>
      <div className="toolbar">
        <input
          className="input grow"
          placeholder='Words, "phrases", or, -excluded  ( / )'
          value={text}
          onChange={(e) => setText(e.target.value)}
          data-search
          data-testid="search-input"
        />
        <select className="select" value={docType} onChange={(e) => setDocType(e.target.value)} aria-label="Type">
          <option value="">all types</option>
          {(types.data ?? []).map((t) => (
            <option key={t.type} value={t.type}>
              {t.type} ({formatCount(t.count)})
            </option>
          ))}
        </select>
      </div>
      {types.error && <ErrorBox error={types.error} onRetry={types.reload} />}
      {!query && types.data && (
        <table className="grid-table" style={{ maxWidth: 480 }}>
          <thead>
            <tr>
              <th>Document type</th>
              <th className="num">Documents</th>
            </tr>
          </thead>
          <tbody>
            {types.data.map((t) => (
              <tr key={t.type} className="clickable" onClick={() => setDocType(t.type)}>
                <td className="mono">{t.type}</td>
                <td className="num">{formatCount(t.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {meta?.notice && <div className="callout callout-warn">{meta.notice}</div>}
      {query && list.loading && !list.loaded && <Progress label="Searching" onCancel={list.cancel} />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {query && list.loaded && list.items.length === 0 && !list.error && <Empty title="No documents match" />}
      <ol className="hits" data-testid="search-results">
        {list.items.map((h, i) => (
          <li key={i} className="search-hit" data-testid="search-hit">
            <div className="search-hit-head">
              <span className="chip">{h.type}</span>
              <strong>
                <Highlighted text={h.title_highlight || h.title || '(untitled)'} />
              </strong>
              <span className="muted small mono">rank {h.rank.toFixed(3)}</span>
            </div>
            {h.location && <div className="mono small muted">{h.location}</div>}
            <div className="small">
              <Highlighted text={h.text_highlight} />
            </div>
            <button type="button" className="button-link small" onClick={() => setOpenHit(openHit === i ? null : i)}>
              {openHit === i ? 'hide document' : 'document'}
            </button>
            {openHit === i && <JsonTree value={h.document} open={1} />}
          </li>
        ))}
      </ol>
      {list.hasMore && (
        <button type="button" className="button" onClick={list.loadMore} disabled={list.loading}>
          {list.loading ? 'Loading…' : 'More results'}
        </button>
      )}
    </div>
  );
}

function emptyResults(): SearchResults {
  return { query: '', tsquery: '', total: 0, items: [], next_cursor: null, notice: null, sql: '' } as unknown as SearchResults;
}
