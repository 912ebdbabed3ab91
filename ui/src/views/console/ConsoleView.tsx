// The SQL console: an editor with completion of the chosen database's tables, runs that are
// read-only by the server (in write mode: confirmed with the database's name, rolled back
// unless committed), elapsed time and Cancel, each statement's rows in a virtualised grid with
// sorting, filtering, JSON as trees and copy as CSV/TSV/JSON/Markdown, EXPLAIN as a tree,
// Backstage recipes, and the profile's history and saved queries (SQL only).
import { format as formatSql } from 'sql-formatter';
import { lazy, Suspense, useMemo, useRef, useState } from 'react';
import * as cmd from '../../commands';
import type { ConsoleRun } from '../../bindings/ConsoleRun';
import type { CopyFormat } from '../../bindings/CopyFormat';
import type { Plan } from '../../bindings/Plan';
import type { RecipeInfo } from '../../bindings/RecipeInfo';
import type { StatementResult } from '../../bindings/StatementResult';
import type { Target } from '../../bindings/Target';
import { ConfirmDialog } from '../../components/Dialog';
import { JsonTree } from '../../components/JsonTree';
import { Progress } from '../../components/Progress';
import { Tabs } from '../../components/Tabs';
import { VirtualList } from '../../components/VirtualList';
import { ErrorBox, Loading } from '../../components/states';
import {
  cellText,
  confirmationAsked,
  nextSort,
  planLines,
  statementAt,
  toRun,
  view as rowView,
  type SortSpec,
} from '../../lib/console';
import { toUiError, type UiError } from '../../lib/errors';
import { formatDuration } from '../../lib/format';
import { newOpId, cancelOp } from '../../lib/ops';
import { useWriteMode } from '../../lib/session';
import { useStickyState } from '../../lib/sticky';
import { useQuery } from '../../lib/useQuery';
import type { EditorHandle } from './Editor';

// CodeMirror loads with the console only.
const Editor = lazy(() => import('./Editor'));

/** A run in flight: its operation id and what it is. */
interface Running {
  op: string;
  label: string;
}

type Answer =
  | { kind: 'run'; run: ConsoleRun; sql: string; target: Target; recipe?: { id: string; params: Record<string, string> } }
  | { kind: 'plan'; plan: Plan };

const ROW_CAP = 1000;

export function ConsoleView() {
  const write = useWriteMode();
  const [text, setText] = useStickyState('console.sql', 'SELECT entity_ref, errors\nFROM refresh_state\nWHERE errors NOT IN (\'\', \'[]\')\nLIMIT 50;');
  const [scopeKey, setScopeKey] = useStickyState('console.scope', 'area:catalog');
  const [analyze, setAnalyze] = useState(false);
  const [running, setRunning] = useState<Running | null>(null);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [confirm, setConfirm] = useState<{ database: string; commit: boolean; sql: string; cap: number } | null>(null);
  const [historyTick, setHistoryTick] = useState(0);
  const editor = useRef<EditorHandle>(null);

  const scopes = useQuery((op) => cmd.listTables({ by: 'anywhere' }, op), []);
  const options = useMemo(
    () =>
      (scopes.data ?? [])
        .filter((s) => !s.error)
        .map((s) => ({
          key: s.area ? `area:${s.area}` : `db:${s.database}.${s.schema}`,
          label: s.area ? `${s.area} — ${s.database}${s.schema !== 'public' ? `.${s.schema}` : ''}` : s.database,
          target: (s.area ? { by: 'area', area: s.area } : { by: 'database', database: s.database, schema: s.schema }) as Target,
          schema: Object.fromEntries(s.tables.map((t) => [t.name, t.columns.map((c) => c.name)])),
        })),
    [scopes.data],
  );
  const chosen = options.find((o) => o.key === scopeKey) ?? options[0];
  const target: Target = chosen?.target ?? { by: 'area', area: 'catalog' };
  const schema = useMemo(() => chosen?.schema ?? {}, [chosen]);

  const begin = (label: string): string => {
    const op = newOpId();
    setRunning({ op, label });
    setError(null);
    return op;
  };

  const runSql = async (sql: string, opts: { confirm?: string; commit?: boolean; cap?: number } = {}) => {
    if (!sql.trim() || running) return;
    const cap = opts.cap ?? ROW_CAP;
    const op = begin('Running');
    try {
      const run = await cmd.consoleRun(target, sql, { row_cap: cap, confirm: opts.confirm ?? null, commit: opts.commit ?? false }, op);
      setAnswer({ kind: 'run', run, sql, target });
    } catch (e) {
      const err = toUiError(e);
      const db = err.code === 'config' ? confirmationAsked(err.message) : null;
      if (db && write) setConfirm({ database: db, commit: opts.commit ?? false, sql, cap });
      else setError(err);
    } finally {
      setRunning(null);
      setHistoryTick((t) => t + 1);
    }
  };

  const runRecipe = async (r: RecipeInfo, params: Record<string, string>) => {
    if (running) return;
    const op = begin(`Running ${r.title}`);
    const t: Target = r.any_database ? target : { by: 'anywhere' };
    try {
      const run = await cmd.consoleRecipe(t, r.id, params, { row_cap: ROW_CAP, confirm: null, commit: false }, op);
      setAnswer({ kind: 'run', run, sql: r.sql, target: t, recipe: { id: r.id, params } });
    } catch (e) {
      setError(toUiError(e));
    } finally {
      setRunning(null);
    }
  };

  const explain = async () => {
    if (running) return;
    const all = editor.current?.text() ?? text;
    const [from, to] = editor.current?.selection() ?? [0, 0];
    const stmt = from !== to ? all.slice(from, to) : statementAt(all, from);
    if (!stmt) return;
    const op = begin(analyze ? 'Explaining (running the statement)' : 'Explaining');
    try {
      setAnswer({ kind: 'plan', plan: await cmd.consoleExplain(target, stmt, analyze, op) });
    } catch (e) {
      setError(toUiError(e));
    } finally {
      setRunning(null);
    }
  };

  const runAll = () => {
    const all = editor.current?.text() ?? text;
    const [from, to] = editor.current?.selection() ?? [0, 0];
    void runSql(toRun(all, from, to));
  };
  const runStatement = () => {
    const all = editor.current?.text() ?? text;
    const [from] = editor.current?.selection() ?? [0, 0];
    const s = statementAt(all, from);
    if (s) void runSql(s);
  };
  const load = (sql: string) => {
    editor.current?.setText(sql);
    setText(sql);
    editor.current?.focus();
  };

  return (
    <div className="view fill console" data-testid="console">
      <div className="view-head">
        <h1>SQL console</h1>
        <select
          className="input"
          value={chosen?.key ?? ''}
          onChange={(e) => setScopeKey(e.target.value)}
          data-testid="console-target"
          aria-label="Database"
        >
          {options.map((o) => (
            <option key={o.key} value={o.key}>
              {o.label}
            </option>
          ))}
        </select>
        <span className={write ? 'badge badge-warn' : 'badge'} data-testid="console-mode">
          {write ? 'write mode: writes need the database name' : 'read-only (enforced by the server)'}
        </span>
      </div>
      <div className="split" style={{ gap: 10 }}>
        <div className="console-main">
          <Suspense fallback={<Loading what="editor" />}>
            <Editor ref={editor} initial={text} schema={schema} onChange={setText} onRun={runAll} onRunStatement={runStatement} />
          </Suspense>
          <div className="toolbar">
            <button type="button" className="button button-primary" onClick={runAll} disabled={!!running} data-testid="console-run" title="Ctrl+Enter">
              Run
            </button>
            <button type="button" className="button" onClick={runStatement} disabled={!!running} data-testid="console-run-statement" title="Ctrl+Shift+Enter">
              Run statement
            </button>
            <button type="button" className="button" onClick={() => void explain()} disabled={!!running} data-testid="console-explain">
              Explain
            </button>
            <label className="check" title="EXPLAIN ANALYZE runs the statement (only for statements that only read)">
              <input type="checkbox" checked={analyze} onChange={(e) => setAnalyze(e.target.checked)} data-testid="console-analyze" /> Analyze
            </label>
            <button
              type="button"
              className="button"
              data-testid="console-format"
              onClick={() => {
                try {
                  load(formatSql(editor.current?.text() ?? text, { language: 'postgresql', keywordCase: 'upper' }));
                } catch (e) {
                  setError({ code: 'config', message: `cannot format this SQL: ${String(e)}` });
                }
              }}
            >
              Format
            </button>
            <SaveButton sql={text} target={target} onSaved={() => setHistoryTick((t) => t + 1)} />
          </div>
          {running && <Progress label={running.label} delayMs={0} onCancel={() => void cancelOp(running.op)} />}
          {error && <ErrorBox error={error} />}
          {answer?.kind === 'run' && (
            <RunResult
              key={answer.run.elapsed_ms + answer.sql}
              run={answer.run}
              onLoadMore={(cap) => void (answer.recipe ? undefined : runSql(answer.sql, { cap }))}
              onCommit={() => setConfirm({ database: answer.run.database, commit: true, sql: answer.sql, cap: ROW_CAP })}
            />
          )}
          {answer?.kind === 'plan' && <PlanTree plan={answer.plan} />}
        </div>
        <SidePanel onLoad={load} onRecipe={(r, p) => void runRecipe(r, p)} tick={historyTick} />
      </div>
      {confirm && (
        <ConfirmDialog
          title={confirm.commit ? 'Run and commit' : 'Run statements that may write'}
          word={confirm.database}
          danger
          confirmLabel={confirm.commit ? 'Run and commit' : 'Run, then roll back'}
          onClose={() => setConfirm(null)}
          onConfirm={() => {
            const c = confirm;
            setConfirm(null);
            void runSql(c.sql, { confirm: c.database, commit: c.commit, cap: c.cap });
          }}
        >
          {confirm.commit
            ? `The script runs again in one transaction on ${confirm.database} and is committed.`
            : `The script may write to ${confirm.database}. It runs in one transaction that is rolled back afterwards; you can then commit it.`}
        </ConfirmDialog>
      )}
    </div>
  );
}

function RunResult({ run, onLoadMore, onCommit }: { run: ConsoleRun; onLoadMore: (cap: number) => void; onCommit: () => void }) {
  const [tab, setTab] = useState(String(Math.max(0, run.statements.length - 1)));
  const affected = run.statements.reduce((n, s) => n + Number(s.rows_affected), 0);
  const current = run.statements[Number(tab)];
  return (
    <div className="console-result" data-testid="console-result" data-outcome={run.outcome}>
      <div className="muted small" data-testid="console-summary">
        {run.statements.length} statement{run.statements.length === 1 ? '' : 's'} on <span className="mono">{run.database}</span> in{' '}
        {formatDuration(run.elapsed_ms)}
        {run.outcome === 'read_only' && ' · read-only, rolled back'}
        {run.outcome === 'committed' && ` · committed, ${affected} row(s) affected`}
      </div>
      {run.outcome === 'rolled_back' && !run.failed && (
        <div className="notice warn" data-testid="console-rolled-back">
          Rolled back: {affected} row(s) affected, nothing kept.{' '}
          <button type="button" className="button button-danger" onClick={onCommit} data-testid="console-commit">
            Run again and commit
          </button>
        </div>
      )}
      {run.failed && (
        <ErrorBox
          error={{
            code: run.failed[1].code,
            message: `statement ${run.failed[0] + 1}: ${run.failed[1].message}`,
          }}
        />
      )}
      {run.statements.length > 1 && (
        <Tabs
          tabs={run.statements.map((s, i) => ({ id: String(i), label: `${i + 1}: ${s.command}` }))}
          active={tab}
          onChange={setTab}
        />
      )}
      {current && <StatementGrid key={tab} s={current} onLoadMore={onLoadMore} />}
    </div>
  );
}

function widthOf(name: string, rows: ReadonlyArray<ReadonlyArray<unknown>>, i: number): number {
  let chars = name.length;
  for (const r of rows.slice(0, 50)) chars = Math.max(chars, cellText(r[i]).length);
  return Math.min(360, Math.max(80, chars * 7.5 + 16));
}

function StatementGrid({ s, onLoadMore }: { s: StatementResult; onLoadMore: (cap: number) => void }) {
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<SortSpec | null>(null);
  const [selected, setSelected] = useState(-1);
  const [copied, setCopied] = useState<string | null>(null);
  const order = useMemo(() => rowView(s.rows, filter, sort), [s.rows, filter, sort]);
  const widths = useMemo(() => s.columns.map((c, i) => widthOf(c.name, s.rows, i)), [s]);
  const total = widths.reduce((a, b) => a + b, 0);
  const row = selected >= 0 ? s.rows[order[selected] ?? -1] : undefined;

  const copy = async (format: CopyFormat) => {
    const rows = order.map((i) => s.rows[i] as unknown[]);
    const text = await cmd.consoleCopy({ columns: s.columns.map((c) => c.name), rows, format });
    try {
      await navigator.clipboard.writeText(text);
      setCopied(`Copied ${rows.length} row(s) as ${format.toUpperCase()}`);
    } catch {
      setCopied('The clipboard is not available here');
    }
  };

  if (s.columns.length === 0) {
    return (
      <p className="mono" data-testid="console-command">
        {s.command} <span className="muted">({formatDuration(s.elapsed_ms)})</span>
      </p>
    );
  }
  return (
    <div className="console-grid-wrap">
      <div className="toolbar">
        <span className="mono" data-testid="console-command">
          {s.command}
        </span>
        <span className="muted small" data-testid="console-rowcount">
          {s.truncated ? `${s.rows.length} of ${s.row_count} rows loaded` : `${s.row_count} row(s)`} · {formatDuration(s.elapsed_ms)}
        </span>
        {s.truncated && (
          <button type="button" className="button" onClick={() => onLoadMore(Math.min(s.rows.length * 10, 1_000_000))} data-testid="console-load-more">
            Load more
          </button>
        )}
        <input className="input" placeholder="Filter loaded rows" value={filter} onChange={(e) => setFilter(e.target.value)} data-testid="console-filter" />
        {(['csv', 'tsv', 'json', 'markdown'] as CopyFormat[]).map((f) => (
          <button key={f} type="button" className="button" onClick={() => void copy(f)} data-testid={`console-copy-${f}`}>
            Copy {f === 'markdown' ? 'MD' : f.toUpperCase()}
          </button>
        ))}
        {copied && (
          <span className="muted small" role="status" data-testid="console-copied">
            {copied}
          </span>
        )}
      </div>
      <div className="split" style={{ gap: 8 }}>
        <div className="console-grid" style={{ overflowX: 'auto' }}>
          <div style={{ width: total, minWidth: '100%' }}>
            <div className="console-grid-head">
              {s.columns.map((c, i) => (
                <button
                  key={i}
                  type="button"
                  className="console-th"
                  style={{ width: widths[i] }}
                  onClick={() => setSort(nextSort(sort, i))}
                  title={`${c.type_name}${c.table ? ` · ${c.table}` : ''}${c.masked ? ' · masked' : ''}`}
                  data-testid="console-th"
                >
                  {c.name}
                  {c.masked && ' 🔒'}
                  {sort?.column === i ? (sort.desc ? ' ▼' : ' ▲') : ''}
                </button>
              ))}
            </div>
            <VirtualList
              items={order}
              selected={selected}
              onSelect={setSelected}
              rowKey={(i) => String(i)}
              testid="console-rows"
              rowTestid="console-row"
              render={(i) => (
                <>
                  {(s.rows[i] ?? []).map((v, c) => (
                    <span key={c} className={v === null ? 'console-td j-null' : 'console-td'} style={{ width: widths[c] }}>
                      {cellText(v)}
                    </span>
                  ))}
                </>
              )}
            />
          </div>
        </div>
        {row && (
          <div className="console-row-detail" data-testid="console-row-detail">
            {s.columns.map((c, i) => (
              <div key={i} className="console-field">
                <div className="muted small">
                  {c.name} <span className="mono">{c.type_name}</span>
                  {c.masked && ' · masked'}
                </div>
                {row[i] !== null && typeof row[i] === 'object' ? (
                  <JsonTree value={row[i] as never} />
                ) : (
                  <div className="mono wrap">{cellText(row[i])}</div>
                )}
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}

function PlanTree({ plan }: { plan: Plan }) {
  const lines = planLines(plan.root);
  return (
    <div className="console-plan" data-testid="console-plan">
      <div className="muted small">
        {plan.analyzed ? 'EXPLAIN ANALYZE' : 'EXPLAIN'} on <span className="mono">{plan.database}</span>
        {plan.planning_ms !== null && ` · planning ${formatDuration(plan.planning_ms)}`}
        {plan.execution_ms !== null && ` · execution ${formatDuration(plan.execution_ms)}`}
      </div>
      {lines.map((l, i) => (
        <div
          key={i}
          className={l.node.slowest ? 'plan-node slowest' : 'plan-node'}
          style={{ paddingLeft: l.depth * 18 }}
          data-testid="plan-node"
          data-slowest={l.node.slowest ? 'true' : undefined}
        >
          <div>
            <strong>{l.node.node_type}</strong>
            {l.node.relation && <span className="mono"> on {l.node.relation}</span>}
            {l.node.index && <span className="mono"> using {l.node.index}</span>}
            <span className="muted small">
              {' '}
              cost {l.node.startup_cost.toFixed(2)}..{l.node.total_cost.toFixed(2)} · rows {l.node.plan_rows}
              {l.node.actual_total_ms !== null &&
                ` · actual ${l.node.actual_total_ms.toFixed(3)} ms × ${l.node.loops ?? 1}, rows ${l.node.actual_rows}`}
            </span>
            {l.node.slowest && <span className="badge badge-warn"> slowest</span>}
            <div className="plan-bar" style={{ width: `${Math.round(l.share * 100)}%` }} aria-hidden="true" />
          </div>
          {l.node.details
            .filter(([k]) => /Cond|Filter|Key|Removed/.test(k))
            .map(([k, v]) => (
              <div key={k} className="mono small muted">
                {k}: {v}
              </div>
            ))}
        </div>
      ))}
    </div>
  );
}

function SaveButton({ sql, target, onSaved }: { sql: string; target: Target; onSaved: () => void }) {
  const [name, setName] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  if (name === null)
    return (
      <button type="button" className="button" onClick={() => setName('')} data-testid="console-save">
        Save…
      </button>
    );
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        cmd
          .consoleSave(name, sql, target)
          .then(() => {
            setName(null);
            setError(null);
            onSaved();
          })
          .catch((err) => setError(toUiError(err)));
      }}
    >
      <input className="input" autoFocus placeholder="Name" value={name} onChange={(e) => setName(e.target.value)} data-testid="console-save-name" />
      <button type="submit" className="button">
        Save
      </button>
      {error && <span className="error-inline">{error.message}</span>}
    </form>
  );
}

function SidePanel({
  onLoad,
  onRecipe,
  tick,
}: {
  onLoad: (sql: string) => void;
  onRecipe: (r: RecipeInfo, params: Record<string, string>) => void;
  tick: number;
}) {
  const [tab, setTab] = useStickyState('console.side', 'recipes');
  return (
    <div className="console-side" data-testid="console-side">
      <Tabs
        tabs={[
          { id: 'recipes', label: 'Recipes' },
          { id: 'history', label: 'History' },
          { id: 'saved', label: 'Saved' },
        ]}
        active={tab}
        onChange={setTab}
      />
      {tab === 'recipes' && <Recipes onRecipe={onRecipe} onLoad={onLoad} />}
      {tab === 'history' && <History onLoad={onLoad} tick={tick} />}
      {tab === 'saved' && <Saved onLoad={onLoad} tick={tick} />}
    </div>
  );
}

function Recipes({ onRecipe, onLoad }: { onRecipe: (r: RecipeInfo, p: Record<string, string>) => void; onLoad: (sql: string) => void }) {
  const q = useQuery(() => cmd.consoleRecipes(), []);
  const [open, setOpen] = useState<string | null>(null);
  const [params, setParams] = useState<Record<string, string>>({});
  if (!q.data) return q.error ? <ErrorBox error={q.error} /> : <Loading what="recipes" />;
  return (
    <div className="console-list">
      {q.data.map((r) => (
        <div key={r.id} className="console-recipe" data-testid="console-recipe" data-id={r.id}>
          <button
            type="button"
            className="link"
            onClick={() => {
              setOpen(open === r.id ? null : r.id);
              setParams(Object.fromEntries(r.params.map((p) => [p.name, p.default])));
            }}
          >
            {r.title}
          </button>
          {open === r.id && (
            <div className="small">
              <p>{r.description}</p>
              <p className="muted">
                Runs in {r.any_database ? `the chosen database (any plugin database)` : `the ${r.area} area`}. Works on {r.works_on}; checked on
                the Backstage fixtures {r.checked_on.join(', ')}.
              </p>
              {r.params.map((p) => (
                <label key={p.name} className="field">
                  <span>
                    {p.name} <span className="muted">{p.description}</span>
                  </span>
                  <input
                    className="input mono"
                    value={params[p.name] ?? ''}
                    onChange={(e) => setParams({ ...params, [p.name]: e.target.value })}
                    data-testid={`recipe-param-${p.name}`}
                  />
                </label>
              ))}
              <div className="toolbar">
                <button type="button" className="button button-primary" onClick={() => onRecipe(r, params)} data-testid="recipe-run">
                  Run
                </button>
                <button type="button" className="button" onClick={() => onLoad(r.sql)}>
                  Open the SQL
                </button>
              </div>
            </div>
          )}
        </div>
      ))}
    </div>
  );
}

function History({ onLoad, tick }: { onLoad: (sql: string) => void; tick: number }) {
  const [search, setSearch] = useState('');
  const q = useQuery(() => cmd.consoleHistory(search, 200), [search, tick]);
  return (
    <div className="console-list">
      <input className="input" placeholder="Search the history" value={search} onChange={(e) => setSearch(e.target.value)} data-testid="console-history-search" />
      {q.error && <ErrorBox error={q.error} />}
      {(q.data ?? []).map((h, i) => (
        <button key={i} type="button" className="console-history-item" onClick={() => onLoad(h.sql)} data-testid="console-history-item">
          <span className="mono small">{h.sql.length > 140 ? `${h.sql.slice(0, 139)}…` : h.sql}</span>
          <span className="muted small">
            {h.target} · {new Date(h.at * 1000).toLocaleString()}
            {h.failed ? ` · failed (${h.failed})` : ''}
          </span>
        </button>
      ))}
      {q.data?.length === 0 && <p className="muted small">No runs yet.</p>}
    </div>
  );
}

function Saved({ onLoad, tick }: { onLoad: (sql: string) => void; tick: number }) {
  const [version, setVersion] = useState(0);
  const q = useQuery(() => cmd.consoleSaved(), [tick, version]);
  return (
    <div className="console-list">
      {q.error && <ErrorBox error={q.error} />}
      {(q.data ?? []).map((s) => (
        <div key={s.name} className="console-saved" data-testid="console-saved-item">
          <button type="button" className="link" onClick={() => onLoad(s.sql)}>
            {s.name}
          </button>
          <span className="muted small"> {s.target}</span>
          <button
            type="button"
            className="button small"
            aria-label={`Delete ${s.name}`}
            onClick={() => void cmd.consoleDeleteSaved(s.name).then(() => setVersion((v) => v + 1))}
          >
            Delete
          </button>
        </div>
      ))}
      {q.data?.length === 0 && <p className="muted small">No saved queries: write one and Save.</p>}
    </div>
  );
}
