// Scaffolder tasks: a filtered, paged list and the detail of one task.
import { useState } from 'react';
import * as cmd from '../../commands';
import type { StatusFilter } from '../../bindings/StatusFilter';
import type { TaskSummary } from '../../bindings/TaskSummary';
import { Progress } from '../../components/Progress';
import { StatusPill } from '../../components/Ref';
import { Empty, ErrorBox } from '../../components/states';
import { VirtualList } from '../../components/VirtualList';
import { formatTime, shortRef, taskTiming, timeAgo } from '../../lib/format';
import { useNav } from '../../lib/nav';
import { useStickyState } from '../../lib/sticky';
import { usePaged } from '../../lib/usePaged';
import { useDebounced } from '../../lib/useQuery';
import { TaskDetailPane } from './TaskDetail';

const STATUSES: StatusFilter[] = ['open', 'processing', 'completed', 'failed', 'cancelled'];
const RANGES: ReadonlyArray<[string, string]> = [
  ['', 'any time'],
  ['1h', 'last hour'],
  ['24h', 'last 24 h'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
];

export function ScaffolderView({ task }: { task?: string | undefined }) {
  const nav = useNav();
  const [status, setStatus] = useStickyState<StatusFilter | ''>('tasks.status', '');
  const [template, setTemplate] = useStickyState('tasks.template', '');
  const [creator, setCreator] = useStickyState('tasks.creator', '');
  const [since, setSince] = useStickyState('tasks.since', '');
  const [index, setIndex] = useState(-1);
  const t = useDebounced(template.trim(), 300);
  const c = useDebounced(creator.trim(), 300);

  const list = usePaged<TaskSummary>(
    (cursor, op) =>
      cmd.tasks(
        {
          status: status || null,
          template: t || null,
          creator: c || null,
          since: since || null,
          until: null,
          limit: 200,
          cursor,
        },
        op,
      ),
    [status, t, c, since],
  );

  const open = (i: number) => {
    const x = list.items[i];
    if (!x) return;
    setIndex(i);
    if (task) nav.replace({ view: 'scaffolder', task: x.id });
    else nav.navigate({ view: 'scaffolder', task: x.id });
  };

  return (
    <div className="view fill" data-testid="scaffolder">
      <div className="view-head">
        <h1>Scaffolder tasks</h1>
        <span className="muted">
          {list.items.length} loaded{list.hasMore ? ' (scroll for more)' : ''}
        </span>
      </div>
      <div className="toolbar">
        <select
          className="select"
          value={status}
          onChange={(e) => setStatus(e.target.value as StatusFilter | '')}
          aria-label="Status"
          data-testid="task-status-filter"
        >
          <option value="">any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <input
          className="input"
          placeholder="template (ref or name)"
          value={template}
          onChange={(e) => setTemplate(e.target.value)}
          data-search
        />
        <input
          className="input"
          placeholder="creator (user ref or name)"
          value={creator}
          onChange={(e) => setCreator(e.target.value)}
        />
        <select className="select" value={since} onChange={(e) => setSince(e.target.value)} aria-label="Time range">
          {RANGES.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </div>
      {list.loading && !list.loaded && <Progress label="Reading tasks" onCancel={list.cancel} />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      <div className="split">
        <div className="list-side">
          <div className="vhead">
            <span className="c-status">Status</span>
            <span className="c-md">Created</span>
            <span className="c-lg">Template</span>
            <span className="c-md">Creator</span>
            <span className="c-sm num">Duration</span>
            <span className="c-sm num">Events</span>
          </div>
          {list.loaded && list.items.length === 0 && !list.error ? (
            <Empty title="No tasks match" />
          ) : (
            <VirtualList
              items={list.items}
              testid="task-list"
              rowTestid="task-row"
              rowKey={(x) => x.id}
              selected={index}
              onSelect={open}
              onOpen={open}
              onNearEnd={list.loadMore}
              footer={list.hasMore || list.loading ? <span className="muted">Loading more…</span> : undefined}
              render={(x) => (
                <>
                  <span className="c-status" data-status={x.display_status}>
                    <StatusPill status={x.display_status} />
                  </span>
                  <span className="c-md" title={`${formatTime(x.created_at)} (${timeAgo(x.created_at)})`}>
                    {task ? formatTime(x.created_at).slice(5, 16) : formatTime(x.created_at)}
                  </span>
                  <span className="c-lg mono small" title={x.problem ?? x.template_ref ?? ''}>
                    {x.template_ref ? shortRef(x.template_ref) : x.problem ? <span className="warn">unreadable spec</span> : '—'}
                  </span>
                  <span className="c-md mono small" title={x.creator ?? ''}>
                    {x.creator ? shortRef(x.creator) : '—'}
                  </span>
                  <span className="c-sm num">{taskTiming(x)}</span>
                  <span className="c-sm num">{String(x.events)}</span>
                </>
              )}
            />
          )}
        </div>
        {task && <TaskDetailPane id={task} onClose={() => nav.replace({ view: 'scaffolder' })} />}
      </div>
    </div>
  );
}
