// Any table: the list with sizes and row estimates, and a page browser with sorting,
// per-column filters, keyset paging, and JSON values as trees.
import { useMemo, useState } from 'react';
import * as cmd from '../../commands';
import type { ColumnMeta } from '../../bindings/ColumnMeta';
import type { Filter } from '../../bindings/Filter';
import type { TablePage } from '../../bindings/TablePage';
import type { Target } from '../../bindings/Target';
import { JsonCell } from '../../components/JsonTree';
import { Progress } from '../../components/Progress';
import { Empty, ErrorBox, QueryView } from '../../components/states';
import { formatBytes, formatCount } from '../../lib/format';
import { useNav } from '../../lib/nav';
import { useStickyState } from '../../lib/sticky';
import { usePaged } from '../../lib/usePaged';
import { useDebounced, useQuery } from '../../lib/useQuery';

interface Picked {
  area: string | null;
  database: string;
  schema: string;
  table: string;
}

function encode(p: Picked): string {
  return JSON.stringify(p);
}

function decode(s: string | undefined): Picked | null {
  if (!s) return null;
  try {
    return JSON.parse(s) as Picked;
  } catch {
    return null;
  }
}

export function TablesView({ table }: { table?: string | undefined }) {
  const nav = useNav();
  const [filter, setFilter] = useStickyState('tables.filter', '');
  const q = useQuery((op) => cmd.listTables({ by: 'anywhere' }, op), []);
  const picked = decode(table);
  const f = filter.trim().toLowerCase();

  return (
    <div className="view fill" data-testid="tables">
      <div className="view-head">
        <h1>Tables</h1>
        {picked && (
          <span className="mono">
            {picked.database}
            {picked.schema !== 'public' ? `.${picked.schema}` : ''} · <strong>{picked.table}</strong>
          </span>
        )}
      </div>
      <div className="split" style={{ gap: 10 }}>
        <div className="list-side" style={{ flex: 'none', width: picked ? 260 : '100%', overflow: 'auto' }}>
          <input
            className="input"
            placeholder="Filter tables  ( / )"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            data-search={picked ? undefined : true}
            style={{ marginBottom: 6 }}
          />
          <QueryView q={q} what="tables">
            {(scopes) => (
              <>
                {scopes.length === 0 && <Empty title="No plugin databases" />}
                {scopes.map((s) => {
                  const tables = s.tables.filter((t) => !f || t.name.toLowerCase().includes(f));
                  return (
                    <div key={s.database + s.schema} style={{ marginBottom: 8 }}>
                      <h3 className="sub">
                        {s.area ?? s.database}
                        <span className="muted mono"> {s.database}{s.schema !== 'public' ? `.${s.schema}` : ''}</span>
                      </h3>
                      {s.error && <ErrorBox error={s.error} />}
                      <table className="grid-table">
                        {!picked && (
                          <thead>
                            <tr>
                              <th>Table</th>
                              <th>Kind</th>
                              <th className="num">Rows (est.)</th>
                              <th className="num">Size</th>
                              <th>Primary key</th>
                              <th>Columns</th>
                            </tr>
                          </thead>
                        )}
                        <tbody>
                          {tables.map((t) => {
                            const p: Picked = { area: s.area ?? null, database: s.database, schema: s.schema, table: t.name };
                            const on = picked && encode(picked) === encode(p);
                            return (
                              <tr
                                key={t.name}
                                className={on ? 'clickable selected' : 'clickable'}
                                data-testid="table-row"
                                onClick={() =>
                                  picked ? nav.replace({ view: 'tables', table: encode(p) }) : nav.navigate({ view: 'tables', table: encode(p) })
                                }
                              >
                                <td className="mono">{t.name}</td>
                                {!picked && (
                                  <>
                                    <td className="small">{t.kind}</td>
                                    <td className="num">{Number(t.estimated_rows) < 0 ? '?' : formatCount(t.estimated_rows)}</td>
                                    <td className="num">{formatBytes(t.size_bytes)}</td>
                                    <td className="mono small">{t.primary_key.join(', ') || '—'}</td>
                                    <td className="small muted">{t.columns.length}</td>
                                  </>
                                )}
                              </tr>
                            );
                          })}
                        </tbody>
                      </table>
                    </div>
                  );
                })}
              </>
            )}
          </QueryView>
        </div>
        {picked && <TableBrowser key={encode(picked)} picked={picked} />}
      </div>
    </div>
  );
}

function targetOf(p: Picked): Target {
  return p.area ? { by: 'area', area: p.area } : { by: 'database', database: p.database, schema: p.schema };
}

/** `text` → contains; `=v`, `>v`, `<v`; `null`, `notnull`. */
function parseFilter(column: string, raw: string): Filter | null {
  const s = raw.trim();
  if (!s) return null;
  if (s === 'null') return { column, op: 'is_null', value: null };
  if (s === 'notnull' || s === '!null') return { column, op: 'not_null', value: null };
  if (s.startsWith('=')) return { column, op: 'eq', value: s.slice(1) };
  if (s.startsWith('>')) return { column, op: 'gt', value: s.slice(1) };
  if (s.startsWith('<')) return { column, op: 'lt', value: s.slice(1) };
  return { column, op: 'contains', value: s };
}

function Cell({ col, value }: { col: ColumnMeta; value: unknown }) {
  if (value === null || value === undefined) return <span className="j-null">NULL</span>;
  if (col.render === 'masked') return <span className="mono muted" title="masked">{String(value)}</span>;
  if (col.render === 'json' || col.render === 'text') {
    // Longer than a page carries: its start and its length (an export has all of it).
    const v = value as { truncated?: unknown; text?: unknown; length?: unknown };
    if (typeof value === 'object' && v.truncated === true && typeof v.text === 'string') {
      return (
        <span data-testid="cell-truncated" title={`${formatCount(Number(v.length))} characters; export the table for all of it`}>
          {v.text.slice(0, 200)}… <span className="muted">({formatCount(Number(v.length))} characters)</span>
        </span>
      );
    }
    if (typeof value === 'object') return <JsonCell value={value} />;
  }
  if (typeof value === 'object') return <JsonCell value={value} />;
  const s = String(value);
  return <span title={s.length > 80 ? s : undefined}>{s.length > 200 ? `${s.slice(0, 200)}…` : s}</span>;
}

function TableBrowser({ picked }: { picked: Picked }) {
  const [sort, setSort] = useState<string | null>(null);
  const [desc, setDesc] = useState(false);
  const [raw, setRaw] = useState<Record<string, string>>({});
  const [meta, setMeta] = useState<TablePage | null>(null);
  const [showSql, setShowSql] = useState(false);
  const rawD = useDebounced(raw, 400);
  const filters = useMemo(
    () => Object.entries(rawD).map(([c, v]) => parseFilter(c, v)).filter((x): x is Filter => x !== null),
    [rawD],
  );
  const list = usePaged<Record<string, unknown>, TablePage>(
    (cursor, op) => cmd.browseTable(targetOf(picked), picked.table, { sort, desc, filters, limit: 100, cursor }, op),
    [sort, desc, JSON.stringify(filters)],
    setMeta,
  );
  const cols = meta?.columns ?? [];

  return (
    <div className="list-side" data-testid="table-browser" style={{ overflow: 'hidden' }}>
      <div className="toolbar small">
        {meta && (
          <span className="muted">
            {meta.kind} · {meta.estimated_rows < 0 ? 'rows not estimated (never analysed)' : `~${formatCount(meta.estimated_rows)} rows`} · order {meta.order.join(', ')} {meta.desc ? 'desc' : 'asc'} ·{' '}
            {list.items.length} loaded
          </span>
        )}
        <span className="spacer" style={{ flex: 1 }} />
        <span className="muted">filters: text contains · =v · &gt;v · &lt;v · null · notnull</span>
        <button type="button" className="button" onClick={() => setShowSql((s) => !s)}>
          SQL
        </button>
      </div>
      {showSql && meta && <pre className="code">{meta.sql}</pre>}
      {list.loading && !list.loaded && <Progress label={`Reading ${picked.table}`} onCancel={list.cancel} />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      <div
        style={{ overflow: 'auto', flex: 1, minHeight: 0 }}
        onScroll={(e) => {
          const el = e.currentTarget;
          if (el.scrollTop + el.clientHeight > el.scrollHeight - 200) list.loadMore();
        }}
      >
        <table className="grid-table table-page" data-testid="table-page">
          <thead>
            <tr>
              {cols.map((c) => (
                <th
                  key={c.name}
                  className="clickable"
                  style={{ cursor: 'pointer' }}
                  title={`${c.data_type}${c.nullable ? '' : ' not null'}${c.masked ? ' · masked' : ''} — click to sort`}
                  onClick={() => {
                    if (sort === c.name) setDesc(!desc);
                    else {
                      setSort(c.name);
                      setDesc(false);
                    }
                  }}
                >
                  {c.name}
                  {meta?.primary_key.includes(c.name) && <span className="chip" title="primary key">PK</span>}
                  {(sort ?? meta?.order[0]) === c.name ? ((sort ? desc : meta?.desc) ? ' ▼' : ' ▲') : ''}
                  <div className="muted mono" style={{ fontWeight: 400 }}>
                    {c.data_type}
                  </div>
                </th>
              ))}
            </tr>
            <tr>
              {cols.map((c) => (
                <th key={c.name} style={{ top: 40 }}>
                  <input
                    className="input"
                    style={{ width: '100%', minWidth: 70 }}
                    placeholder="filter"
                    value={raw[c.name] ?? ''}
                    onChange={(e) => setRaw({ ...raw, [c.name]: e.target.value })}
                    data-testid={`col-filter-${c.name}`}
                  />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {list.items.map((row, i) => (
              <tr key={i} data-testid="data-row">
                {cols.map((c) => (
                  <td key={c.name} className={c.render === 'value' && typeof row[c.name] === 'number' ? 'num' : ''}>
                    <Cell col={c} value={row[c.name]} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {list.loaded && list.items.length === 0 && !list.error && <Empty title="No rows match" />}
        {list.hasMore && (
          <button type="button" className="button" onClick={list.loadMore} disabled={list.loading} style={{ margin: 6 }}>
            {list.loading ? 'Loading…' : 'Load more'}
          </button>
        )}
      </div>
    </div>
  );
}
