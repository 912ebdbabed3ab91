// Entities: a virtualised list over keyset pages, facet filters with counts, free-text search,
// and the detail pane.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import * as cmd from '../../commands';
import type { EntityFilter } from '../../bindings/EntityFilter';
import type { EntitySort } from '../../bindings/EntitySort';
import type { EntitySummary } from '../../bindings/EntitySummary';
import type { FacetField } from '../../bindings/FacetField';
import type { Facets } from '../../bindings/Facets';
import { Progress } from '../../components/Progress';
import { Empty, ErrorBox } from '../../components/states';
import { VirtualList } from '../../components/VirtualList';
import { formatCount, timeAgo } from '../../lib/format';
import { useNav } from '../../lib/nav';
import { useStickyState } from '../../lib/sticky';
import { usePagedWindow } from '../../lib/usePagedWindow';
import { useDebounced } from '../../lib/useQuery';
import { EntityDetailPane } from './EntityDetail';

const FIELDS: ReadonlyArray<{ field: FacetField; key: keyof Omit<EntityFilter, 'text'>; label: string }> = [
  { field: 'kind', key: 'kind', label: 'Kind' },
  { field: 'namespace', key: 'namespace', label: 'Namespace' },
  { field: 'owner', key: 'owner', label: 'Owner' },
  { field: 'lifecycle', key: 'lifecycle', label: 'Lifecycle' },
  { field: 'type', key: 'type', label: 'Type' },
  { field: 'tag', key: 'tag', label: 'Tag' },
];

type Sel = Record<FacetField, string[]>;
const NO_SEL: Sel = { kind: [], namespace: [], owner: [], lifecycle: [], type: [], tag: [] };

export function EntitiesView({ entity, kind }: { entity?: string | undefined; kind?: string | undefined }) {
  const nav = useNav();
  const [sel, setSel] = useStickyState<Sel>('entities.sel', NO_SEL);
  const [text, setText] = useStickyState('entities.text', '');
  const [sort, setSort] = useStickyState<EntitySort>('entities.sort', 'ref');
  const [desc, setDesc] = useStickyState('entities.desc', false);
  const [index, setIndex] = useState(-1);
  const [facets, setFacets] = useState<Facets | null>(null);
  const debounced = useDebounced(text.trim(), 250);

  // A route like { view: 'entities', kind: 'component' } sets the kind filter.
  useEffect(() => {
    if (kind) setSel({ ...NO_SEL, kind: [kind] });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kind]);

  const filter: EntityFilter = useMemo(
    () => ({
      kind: sel.kind,
      namespace: sel.namespace,
      owner: sel.owner,
      lifecycle: sel.lifecycle,
      type: sel.type,
      tag: sel.tag,
      system: [],
      text: debounced || null,
    }),
    [sel, debounced],
  );
  const key = JSON.stringify([filter, sort, desc]);

  // A catalog may hold a million entities: only the pages near the screen stay in memory.
  const list = usePagedWindow<EntitySummary>(
    (cursor, op) => cmd.entities({ filter, sort, descending: desc, limit: 300, cursor }, op),
    [key],
  );

  const [facetError, setFacetError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    // A field's counts ignore its own selection (so other values stay offered); the other
    // fields' counts honour the whole filter.
    const active = FIELDS.filter((f) => sel[f.field].length > 0);
    const calls = [
      cmd.facets(filter, FIELDS.map((f) => f.field)),
      ...active.map((f) => cmd.facets({ ...filter, [f.key]: [] }, [f.field])),
    ];
    Promise.all(calls)
      .then(([all, ...own]) => {
        if (!live || !all) return;
        const byField = new Map(all.facets.map((f) => [f.field, f]));
        for (const o of own) for (const f of o.facets) byField.set(f.field, f);
        setFacets({ facets: [...byField.values()] });
        setFacetError(null);
      })
      .catch((e: unknown) => {
        if (live) setFacetError(String((e as { message?: string })?.message ?? e));
      });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(filter)]);

  useEffect(() => setIndex(-1), [key]);

  const total = useMemo(() => {
    const k = facets?.facets.find((f) => f.field === 'kind');
    if (!k) return null;
    // With kinds selected, the kind counts ignore that selection: add the selected ones.
    const chosen = new Set(sel.kind.map((x) => x.toLowerCase()));
    return k.values
      .filter((v) => chosen.size === 0 || chosen.has(v.value.toLowerCase()))
      .reduce((n, v) => n + Number(v.count), 0);
  }, [facets, sel.kind]);

  const open = useCallback(
    (i: number) => {
      const e = list.items.at(i);
      if (e) {
        setIndex(i);
        if (entity) nav.replace({ view: 'entities', entity: e.entity_ref });
        else nav.navigate({ view: 'entities', entity: e.entity_ref });
      }
    },
    [list.items, nav, entity],
  );

  const anyFilter = FIELDS.some((f) => sel[f.field].length > 0) || text !== '';

  return (
    <div className="view fill" data-testid="entities">
      <div className="view-head">
        <h1>Entities</h1>
        <span className="muted" data-testid="entity-total">
          {total === null ? '' : `${formatCount(total)} matching`}
          {list.items.length > 0 && ` · ${formatCount(list.items.length)} loaded`}
        </span>
      </div>
      <div className="toolbar">
        <input
          className="input grow"
          placeholder="Search name, title, description…  ( / )"
          value={text}
          onChange={(e) => setText(e.target.value)}
          data-search
          data-testid="entity-search"
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              document.querySelector<HTMLElement>('[data-testid="entity-list"]')?.focus();
              setIndex((i) => Math.max(0, i));
            }
          }}
        />
        <div className="facets">
          {FIELDS.map((f) => (
            <FacetMenu
              key={f.field}
              label={f.label}
              field={f.field}
              values={facets?.facets.find((x) => x.field === f.field)?.values ?? []}
              selected={sel[f.field]}
              onChange={(vals) => setSel({ ...sel, [f.field]: vals })}
            />
          ))}
        </div>
        <select
          className="select"
          value={`${sort}:${desc ? 'desc' : 'asc'}`}
          onChange={(e) => {
            const [s, d] = e.target.value.split(':');
            setSort(s as EntitySort);
            setDesc(d === 'desc');
          }}
          aria-label="Sort"
        >
          <option value="ref:asc">ref A→Z</option>
          <option value="ref:desc">ref Z→A</option>
          <option value="updated:desc">recently updated</option>
          <option value="updated:asc">least recently updated</option>
        </select>
        {anyFilter && (
          <button
            type="button"
            className="button"
            onClick={() => {
              setSel(NO_SEL);
              setText('');
            }}
          >
            Clear
          </button>
        )}
      </div>
      {facetError && <div className="muted small">Facet counts unavailable: {facetError}</div>}
      {list.loading && !list.loaded && <Progress label="Reading entities" onCancel={list.cancel} />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      <div className="split">
        <div className="list-side">
          <div className="vhead">
            <span className="c-ref">Entity</span>
            {!entity && <span className="c-md">Title</span>}
            <span className="c-sm">Type</span>
            {!entity && <span className="c-sm">Lifecycle</span>}
            <span className="c-md">Owner</span>
            {!entity && <span className="c-md">Tags</span>}
          </div>
          {list.loaded && list.items.length === 0 && !list.error ? (
            <Empty title="No entities match">{anyFilter ? 'Loosen the filters.' : 'The catalog is empty.'}</Empty>
          ) : (
            <VirtualList
              items={list.items}
              testid="entity-list"
              rowTestid="entity-row"
              rowKey={(e) => e.entity_ref}
              selected={index}
              onSelect={(i) => open(i)}
              onOpen={open}
              onNearEnd={list.loadMore}
              onRange={list.need}
              footer={list.hasMore || list.loading ? <span className="muted">Loading more…</span> : undefined}
              render={(e) => (
                <>
                  <span className={e.entity_ref === entity ? 'c-ref mono strong' : 'c-ref mono'} data-ref={e.entity_ref}>
                    {e.problem && entity && (
                      <span className="warn" title={`unreadable row: ${e.problem}`} aria-label="unreadable row">
                        ⚠{' '}
                      </span>
                    )}
                    {e.entity_ref}
                  </span>
                  {!entity &&
                    (e.problem ? (
                      <span className="c-md warn" data-testid="row-problem" title={e.problem}>
                        unreadable row: {e.problem}
                      </span>
                    ) : (
                      <span className="c-md">{e.title ?? ''}</span>
                    ))}
                  <span className="c-sm">{e.type ?? ''}</span>
                  {!entity && <span className="c-sm">{e.lifecycle ?? ''}</span>}
                  <span className="c-md mono small">{e.owner ?? ''}</span>
                  {!entity && (
                    <span
                      className="c-md small muted"
                      title={e.last_updated_at ? `updated ${timeAgo(e.last_updated_at)}` : ''}
                    >
                      {e.tags.join(' ')}
                    </span>
                  )}
                </>
              )}
            />
          )}
        </div>
        {entity && (
          <EntityDetailPane
            entityRef={entity}
            onClose={() => nav.replace(kind ? { view: 'entities', kind } : { view: 'entities' })}
          />
        )}
      </div>
    </div>
  );
}

function FacetMenu({
  label,
  field,
  values,
  selected,
  onChange,
}: {
  label: string;
  field: FacetField;
  values: ReadonlyArray<{ value: string; count: number | bigint }>;
  selected: string[];
  onChange: (v: string[]) => void;
}) {
  const [open, setOpen] = useState(false);
  const [q, setQ] = useState('');
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    window.addEventListener('mousedown', close);
    return () => window.removeEventListener('mousedown', close);
  }, [open]);
  const shown = values.filter((v) => !q || v.value.toLowerCase().includes(q.toLowerCase()));
  // Selected values stay listed even when the counts no longer include them.
  const missing = selected.filter((s) => !values.some((v) => v.value === s));
  return (
    <div className="facet" ref={ref}>
      <button
        type="button"
        className={selected.length ? 'facet-button on' : 'facet-button'}
        data-testid={`facet-${field}`}
        onClick={() => setOpen((o) => !o)}
        aria-expanded={open}
      >
        {label}
        {selected.length > 0 ? `: ${selected.length === 1 ? selected[0] : selected.length}` : ''} ▾
      </button>
      {open && (
        <div
          className="facet-menu"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              setOpen(false);
            }
          }}
        >
          {values.length > 8 && (
            <input
              className="input"
              autoFocus
              placeholder={`Filter ${label.toLowerCase()}…`}
              value={q}
              onChange={(e) => setQ(e.target.value)}
              style={{ width: '100%', marginBottom: 4 }}
            />
          )}
          {values.length === 0 && missing.length === 0 && <div className="muted small">No values</div>}
          {[...missing.map((value) => ({ value, count: 0 })), ...shown].map((v) => (
            <label key={v.value} data-testid={`facet-option-${field}`} data-value={v.value}>
              <input
                type="checkbox"
                checked={selected.includes(v.value)}
                onChange={(e) =>
                  onChange(e.target.checked ? [...selected, v.value] : selected.filter((s) => s !== v.value))
                }
              />
              <span className="mono">{v.value}</span>
              <span className="fc">{formatCount(v.count)}</span>
            </label>
          ))}
          {selected.length > 0 && (
            <button type="button" className="button-link small" onClick={() => onChange([])}>
              clear {label.toLowerCase()}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
