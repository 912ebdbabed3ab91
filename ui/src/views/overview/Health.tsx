// The Overview's health section: the doctor's findings on the open installation, worst first,
// each with its severity (as text), its conclusion, the evidence, a few examples, the next
// steps as `bsi` command lines to copy, and a way to the view that shows what it is about.
// Checks that passed fold into one line; checks that did not run here are listed quietly.
import { useEffect, useState } from 'react';
import type { Finding } from '../../bindings/Finding';
import type { NextStep } from '../../bindings/NextStep';
import type { Report } from '../../bindings/Report';
import type { Severity } from '../../bindings/Severity';
import { Progress } from '../../components/Progress';
import { ErrorBox, Loading } from '../../components/states';
import { formatCount, formatTime } from '../../lib/format';
import { useNav, type Route } from '../../lib/nav';
import type { UiError } from '../../lib/errors';

/** The doctor's state for the Health section, read by the Overview beside its own read. */
export interface HealthQuery {
  status: 'loading' | 'ready' | 'failed';
  data: Report | null;
  error: UiError | null;
  reload: () => void;
  cancel: () => void;
}

const SEVERITY_LABEL: Record<Severity, string> = {
  critical: 'Critical',
  warning: 'Warning',
  info: 'Info',
  ok: 'OK',
};

// A shape per severity besides the colour, so that the badge reads without colour too.
const SEVERITY_ICON: Record<Severity, string> = {
  critical: '✖',
  warning: '▲',
  info: 'i',
  ok: '✓',
};

export function SeverityBadge({ severity }: { severity: Severity }) {
  return (
    <span className={`sev sev-${severity}`} data-testid="severity">
      <span className="sev-icon" aria-hidden="true">
        {SEVERITY_ICON[severity]}
      </span>
      {SEVERITY_LABEL[severity]}
    </span>
  );
}

/** The view of the app that shows what a finding is about, if there is one. */
export function viewOf(f: Finding): { route: Route; label: string } | null {
  const [area] = f.id.split('.');
  switch (f.id) {
    case 'catalog.processing_errors':
      return { route: { view: 'errors' }, label: 'Processing errors' };
    case 'catalog.orphans':
      return { route: { view: 'orphans' }, label: 'Orphans' };
    case 'catalog.processing_stalled':
    case 'catalog.stitch_backlog':
    case 'catalog.unstitched':
      return { route: { view: 'entities' }, label: 'Entities' };
    case 'scaffolder.task_stuck':
    case 'scaffolder.task_waiting': {
      const task = f.examples[0];
      return task
        ? { route: { view: 'scaffolder', task }, label: 'the oldest task' }
        : { route: { view: 'scaffolder' }, label: 'Scaffolder' };
    }
    case 'catalog.locations_failing':
    case 'doctor.check_failed':
    case 'doctor.database_unreadable':
      return null;
  }
  switch (area) {
    case 'knex':
      return { route: { view: 'knex' }, label: 'Knex' };
    case 'scaffolder':
      return { route: { view: 'scaffolder' }, label: 'Scaffolder' };
    case 'auth':
      return { route: { view: 'sessions' }, label: 'Sessions & tokens' };
    case 'tables':
    case 'scheduler':
      return { route: { view: 'tables' }, label: 'Tables' };
    default:
      return null;
  }
}

/** Copies `text` to the clipboard; false when the webview refuses. */
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older webviews: a selected textarea and the copy command.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

function CopyButton({ text }: { text: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 1800);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      type="button"
      className="icon-button copy-button"
      data-testid="copy-command"
      title={state === 'failed' ? 'The clipboard is not available: select the command instead' : 'Copy this command'}
      onClick={() => void copyText(text).then((ok) => setState(ok ? 'copied' : 'failed'))}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select it' : 'Copy'}
    </button>
  );
}

function NextSteps({ steps }: { steps: NextStep[] }) {
  if (steps.length === 0) return null;
  const commands = steps.filter((s) => s.command);
  const advice = steps.filter((s) => !s.command);
  return (
    <div className="finding-steps">
      {advice.map((s) => (
        <div key={s.what} className="small">
          <strong>Next:</strong> {s.what}
        </div>
      ))}
      {commands.length > 0 && (
        <div className="finding-next" data-testid="finding-next" aria-label="Next steps">
          {commands.map((s) => (
            <div key={s.command} className="next-step">
              <div className="next-text">
                <code className="next-command">{s.command}</code>
                <span className="next-what"># {s.what}</span>
              </div>
              <CopyButton text={s.command ?? ''} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function FindingItem({ f }: { f: Finding }) {
  const nav = useNav();
  const target = viewOf(f);
  const more = f.count !== null && f.count > f.examples.length ? f.count - f.examples.length : 0;
  return (
    <li className={`finding finding-${f.severity}`} data-testid="finding" data-id={f.id} data-severity={f.severity}>
      <div className="finding-head">
        <SeverityBadge severity={f.severity} />
        <span className="finding-title">{f.title}</span>
        {target && (
          <button
            type="button"
            className="button finding-open"
            data-testid="finding-open"
            onClick={() => nav.navigate(target.route)}
          >
            Open {target.label}
          </button>
        )}
      </div>
      <div className="finding-id muted small mono">{f.id}</div>
      {f.evidence.length > 0 && (
        <ul className="finding-evidence small" data-testid="finding-evidence">
          {f.evidence.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      )}
      {f.examples.length > 0 && (
        <div className="finding-examples small" data-testid="finding-examples">
          <span className="muted">{f.examples.length === 1 ? 'Example: ' : 'Examples: '}</span>
          {f.examples.map((x) => (
            <code key={x} className="example">
              {x}
            </code>
          ))}
          {more > 0 && <span className="muted"> and {formatCount(more)} more</span>}
        </div>
      )}
      <NextSteps steps={f.next} />
    </li>
  );
}

function Summary({ r }: { r: Report }) {
  const n = (s: Severity) => r.findings.filter((f) => f.severity === s).length;
  const parts: string[] = [];
  if (n('critical')) parts.push(`${n('critical')} critical`);
  if (n('warning')) parts.push(`${n('warning')} warning${n('warning') === 1 ? '' : 's'}`);
  if (n('info')) parts.push(`${n('info')} info`);
  return (
    <span className="muted small" data-testid="health-summary">
      {parts.length ? parts.join(' · ') : 'nothing to report'}
      {r.checked_at ? ` · checked ${formatTime(r.checked_at)} by the database's clock` : ''}
    </span>
  );
}

export function Health({ q }: { q: HealthQuery }) {
  const r = q.data;
  const problems = r ? r.findings.filter((f) => f.severity !== 'ok') : [];
  const passed = r ? r.findings.filter((f) => f.severity === 'ok') : [];
  return (
    <section className="health" data-testid="health" data-worst={r?.worst} aria-labelledby="health-title">
      <div className="health-head">
        <h2 id="health-title">Health</h2>
        {r && <Summary r={r} />}
        <span className="spacer" />
        {r && (
          <button type="button" className="button" onClick={q.reload} disabled={q.status === 'loading'}>
            Check again
          </button>
        )}
      </div>
      {q.status === 'loading' && r === null && <Loading what="the health checks" />}
      {q.status === 'loading' && <Progress label="Checking the installation" onCancel={q.cancel} delayMs={1500} />}
      {q.status === 'failed' && q.error && <ErrorBox error={q.error} onRetry={q.reload} />}
      {r && (
        <>
          {problems.length > 0 && (
            <ul className="findings">
              {problems.map((f, i) => (
                <FindingItem key={`${f.id}-${i}`} f={f} />
              ))}
            </ul>
          )}
          {passed.length > 0 && (
            <details className="health-passed" data-testid="health-passed">
              <summary>
                {passed.length} check{passed.length === 1 ? '' : 's'} passed
              </summary>
              <ul className="findings">
                {passed.map((f, i) => (
                  <FindingItem key={`${f.id}-${i}`} f={f} />
                ))}
              </ul>
            </details>
          )}
          {r.skipped.length > 0 && (
            <details className="health-skipped muted small" data-testid="health-skipped">
              <summary>Not checked here ({r.skipped.length})</summary>
              <ul>
                {r.skipped.map((s) => (
                  <li key={s}>{s}</li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}
