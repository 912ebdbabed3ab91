import * as cmd from '../../commands';
import type { Why } from '../../bindings/Why';
import type { WhyStepStatus } from '../../bindings/WhyStepStatus';
import { RefLink } from '../../components/Ref';
import { QueryView } from '../../components/states';
import { useQuery } from '../../lib/useQuery';

const MARK: Record<WhyStepStatus, { text: string; className: string }> = {
  ok: { text: 'ok', className: 'chip chip-ok' },
  warn: { text: 'warn', className: 'chip chip-warn' },
  bad: { text: 'bad', className: 'chip chip-bad' },
  absent: { text: 'absent', className: 'chip' },
  not_available: { text: 'n/a', className: 'chip' },
};

/** Why the entity (or a ref the catalog does not have) is missing, stale, orphaned or fine. */
export function WhyPanel({ entityRef }: { entityRef: string }) {
  const q = useQuery((op) => cmd.why(entityRef, op), [entityRef]);
  return (
    <QueryView q={q} what="answer">
      {(w) => <WhyView w={w} />}
    </QueryView>
  );
}

function WhyView({ w }: { w: Why }) {
  const bad = w.verdict.kind !== 'fine';
  return (
    <div data-testid="why">
      <div
        className={bad ? 'callout callout-warn' : 'callout'}
        data-testid="why-verdict"
        data-kind={w.verdict.kind}
      >
        <strong>{w.verdict.kind.replace(/_/g, ' ')}</strong>: {w.verdict.sentence}
      </div>
      {w.suggestions.length > 0 && (
        <>
          <h3>Closest refs in the catalog</h3>
          <ul data-testid="why-suggestions">
            {w.suggestions.map((s) => (
              <li key={s.entity_ref}>
                <RefLink entityRef={s.entity_ref} /> <span className="muted small">{s.reason}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      <table className="kv-table" data-testid="why-steps">
        <tbody>
          {w.steps.map((s) => (
            <tr key={s.stage} data-testid={`why-step-${s.stage}`} data-status={s.status}>
              <th>
                <span className={MARK[s.status].className}>{MARK[s.status].text}</span> {s.title}
              </th>
              <td>
                {s.facts.map((f, i) => (
                  <div key={i} className="small">
                    {f}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {w.next.length > 0 && (
        <>
          <h3>Next</h3>
          <ul data-testid="why-next">
            {w.next.map((n, i) => (
              <li key={i}>
                {n.what}
                {n.args.length > 0 && (
                  <>
                    : <code className="mono">bsi {n.args.join(' ')}</code>
                  </>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="muted small">checked at {w.checked_at ?? '-'} by the database's clock</div>
    </div>
  );
}
