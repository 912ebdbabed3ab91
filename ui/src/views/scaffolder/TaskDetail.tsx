// One scaffolder task: steps as a timeline, the coloured log (searchable, virtualised),
// parameters, output, completion error, and stored secrets as key names only.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import * as cmd from '../../commands';
import type { LogLine } from '../../bindings/LogLine';
import type { Span } from '../../bindings/Span';
import type { StepView } from '../../bindings/StepView';
import type { TaskDetail } from '../../bindings/TaskDetail';
import { Found } from '../../components/Highlighted';
import { JsonTree } from '../../components/JsonTree';
import { RefLink, StatusPill } from '../../components/Ref';
import { Empty, Notes, QueryView } from '../../components/states';
import { Tabs } from '../../components/Tabs';
import { spanStyle } from '../../lib/ansi';
import { formatDuration, formatTime, taskTiming } from '../../lib/format';
import { useStickyState } from '../../lib/sticky';
import { useQuery } from '../../lib/useQuery';

type Tab = 'log' | 'parameters' | 'output' | 'secrets';

export function TaskDetailPane({ id, onClose }: { id: string; onClose: () => void }) {
  const q = useQuery((op) => cmd.task(id, op), [id]);
  const [tab, setTab] = useStickyState<Tab>('task.tab', 'log');
  return (
    <aside className="pane" style={{ width: 'min(760px, 60%)' }} data-testid="task-detail">
      <div className="pane-head">
        <h2 data-testid="task-id">{id}</h2>
        {q.data && <StatusPill status={q.data.display_status} />}
        <button type="button" className="icon-button" aria-label="Close (Esc)" title="Close (Esc)" onClick={onClose}>
          ×
        </button>
      </div>
      <QueryView q={q} what="task">
        {(d) => (
          <>
            <div className="pane-body" style={{ flex: 'none', maxHeight: '45%' }}>
              <Summary d={d} />
              <Timeline steps={d.steps} />
              {d.error !== null && d.error !== undefined && (
                <div className="callout callout-bad" data-testid="task-error">
                  <strong>Completion error</strong>
                  <ErrorValue value={d.error} />
                </div>
              )}
              <Notes notes={d.notes} />
            </div>
            <Tabs<Tab>
              active={tab}
              onChange={setTab}
              tabs={[
                { id: 'log', label: `Log (${d.log.length})` },
                { id: 'parameters', label: 'Parameters' },
                { id: 'output', label: 'Output' },
                { id: 'secrets', label: d.secrets ? <span className="warn">Secrets</span> : 'Secrets' },
              ]}
            />
            <div className="pane-body">
              {tab === 'log' && <Log lines={d.log} steps={d.steps} />}
              {tab === 'parameters' && <JsonTree value={d.parameters} open={2} />}
              {tab === 'output' && (
                <>
                  {d.output === null || d.output === undefined ? (
                    <Empty title="No output" />
                  ) : (
                    <>
                      {d.output_source && <div className="muted small">from {d.output_source}</div>}
                      <JsonTree value={d.output} open={2} />
                    </>
                  )}
                  {d.checkpoints !== null && d.checkpoints !== undefined && (
                    <>
                      <p className="small muted">Recovery checkpoints (tasks.state):</p>
                      <JsonTree value={d.checkpoints} open={1} />
                    </>
                  )}
                </>
              )}
              {tab === 'secrets' &&
                (d.secrets ? (
                  <div data-testid="task-secrets">
                    {d.secrets.warning && <div className="callout callout-warn">{d.secrets.warning}</div>}
                    <p className="small">Keys stored in tasks.secrets (values are never shown):</p>
                    {d.secrets.keys.map((k) => (
                      <span key={k} className="chip mono">
                        {k}
                      </span>
                    ))}
                  </div>
                ) : (
                  <Empty title="No secrets stored for this task" />
                ))}
            </div>
          </>
        )}
      </QueryView>
    </aside>
  );
}

function ErrorValue({ value }: { value: unknown }) {
  if (typeof value === 'string') return <div className="mono small">{value}</div>;
  const rec = value as Record<string, unknown> | null;
  if (rec && typeof rec.message === 'string') {
    return (
      <div className="small">
        {typeof rec.name === 'string' && <strong>{rec.name}: </strong>}
        <span className="mono">{rec.message}</span>
        {typeof rec.stack === 'string' && (
          <details>
            <summary>stack</summary>
            <pre className="code">{rec.stack}</pre>
          </details>
        )}
      </div>
    );
  }
  return <JsonTree value={value} open={1} />;
}

function Summary({ d }: { d: TaskDetail }) {
  return (
    <table className="kv-table">
      <tbody>
        <tr>
          <th>Template</th>
          <td>
            {d.template_ref ? <RefLink entityRef={d.template_ref} /> : '—'}
            {d.template?.title && <span className="muted"> · {d.template.title}</span>}
          </td>
        </tr>
        <tr>
          <th>Creator</th>
          <td>
            {d.creator ? <RefLink entityRef={d.creator} /> : '—'}
            {d.creator_source && <span className="muted small"> ({d.creator_source})</span>}
          </td>
        </tr>
        <tr>
          <th>Created</th>
          <td>{formatTime(d.created_at)}</td>
        </tr>
        <tr>
          <th>Duration</th>
          <td>
            {taskTiming(d)}
            {d.duration_source && <span className="muted small"> (from {d.duration_source})</span>}
          </td>
        </tr>
        <tr>
          <th>Last heartbeat</th>
          <td>{formatTime(d.last_heartbeat_at)}</td>
        </tr>
      </tbody>
    </table>
  );
}

const ICON: Record<string, string> = {
  completed: '✓',
  failed: '✗',
  processing: '●',
  skipped: '–',
  cancelled: '⊘',
  not_run: '·',
  pending: '○',
};

function Timeline({ steps }: { steps: ReadonlyArray<StepView> }) {
  if (steps.length === 0) return <div className="muted small">No steps recorded.</div>;
  const times = steps.flatMap((s) => [s.started_at, s.finished_at]).filter((t): t is string => !!t).map((t) => Date.parse(t));
  const t0 = times.length ? Math.min(...times) : 0;
  const t1 = times.length ? Math.max(...times) : 1;
  const span = Math.max(1, t1 - t0);
  return (
    <div className="timeline" data-testid="step-timeline">
      {steps.map((s) => {
        const a = s.started_at ? Date.parse(s.started_at) : null;
        const b = s.finished_at ? Date.parse(s.finished_at) : a;
        const left = a === null ? 0 : ((a - t0) / span) * 100;
        const width = a === null || b === null ? 0 : Math.max(0.5, ((b - a) / span) * 100);
        return (
          <div key={s.id} className="tl-row" data-testid="step" data-status={s.status}>
            <span className={`tl-icon status-${s.status}`} title={s.status}>
              {ICON[s.status] ?? '?'}
            </span>
            <span className="ellipsis" title={`${s.id}${s.action ? ` (${s.action})` : ''}`}>
              {s.name ?? s.id} {s.action && <span className="muted mono small">{s.action}</span>}
            </span>
            <span className="tl-bar">
              {a !== null && <span className={`tl-fill ${s.status}`} style={{ left: `${left}%`, width: `${width}%` }} />}
            </span>
            <span className="num small">{formatDuration(s.duration_ms)}</span>
          </div>
        );
      })}
    </div>
  );
}

function SpanView({ s, needle }: { s: Span; needle: string }) {
  return (
    <span style={spanStyle(s)}>
      <Found text={s.text} needle={needle} />
    </span>
  );
}

function Log({ lines, steps }: { lines: ReadonlyArray<LogLine>; steps: ReadonlyArray<StepView> }) {
  const [query, setQuery] = useState('');
  const [step, setStep] = useState('');
  const [current, setCurrent] = useState(0);
  const parent = useRef<HTMLDivElement>(null);
  const shown = useMemo(() => (step ? lines.filter((l) => l.step_id === step) : lines), [lines, step]);
  const hits = useMemo(() => {
    if (!query) return [];
    const n = query.toLowerCase();
    const out: number[] = [];
    shown.forEach((l, i) => {
      if (l.text.toLowerCase().includes(n)) out.push(i);
    });
    return out;
  }, [shown, query]);
  const v = useVirtualizer({
    count: shown.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 18,
    overscan: 20,
  });
  useEffect(() => {
    const target = hits[current];
    if (target !== undefined) v.scrollToIndex(target, { align: 'start' });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current, hits]);
  useEffect(() => setCurrent(0), [query, step]);
  const hitSet = useMemo(() => new Set(hits), [hits]);
  const stepName = useMemo(() => new Map(steps.map((s) => [s.id, s.name ?? s.id])), [steps]);

  if (lines.length === 0) return <Empty title="No log events" />;
  return (
    <>
      <div className="toolbar">
        <input
          className="input grow"
          placeholder="Search the log…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-search
          data-testid="log-search"
          onKeyDown={(e) => {
            if (e.key === 'Enter' && hits.length) {
              e.preventDefault();
              setCurrent((c) => (e.shiftKey ? (c - 1 + hits.length) % hits.length : (c + 1) % hits.length));
            }
          }}
        />
        <span className="muted small nowrap">{query ? `${hits.length ? current + 1 : 0} / ${hits.length}` : ''}</span>
        <select className="select" value={step} onChange={(e) => setStep(e.target.value)} aria-label="Step">
          <option value="">all steps</option>
          {steps.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name ?? s.id}
            </option>
          ))}
        </select>
      </div>
      <div className="log" ref={parent} data-testid="task-log">
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((vi) => {
            const l = shown[vi.index] as LogLine;
            const cls = ['log-line', `ev-${l.event_type}`];
            if (hitSet.has(vi.index)) cls.push('hit');
            if (hits[current] === vi.index) cls.push('current');
            return (
              <div
                key={l.id.toString()}
                ref={v.measureElement}
                data-index={vi.index}
                className={cls.join(' ')}
                style={{ top: vi.start }}
                data-testid="log-line"
              >
                <span className="log-at">{l.at.slice(11, 23)}</span>
                <span className="log-step" title={l.step_id ?? ''}>
                  {l.step_id ? stepName.get(l.step_id) ?? l.step_id : l.event_type}
                </span>
                <span className="log-text">
                  {l.spans.map((s, i) => (
                    <SpanView key={i} s={s} needle={query} />
                  ))}
                </span>
              </div>
            );
          })}
        </div>
      </div>
    </>
  );
}
