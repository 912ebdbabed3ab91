// A connection test's stages, in order: each with its outcome (as a word and a shape, not by
// colour alone), its time and what it found; the failing one names the error's class. The
// error itself, with what to do next, is shown by the ErrorBox beside it.
import type { Stage } from '../../bindings/Stage';
import type { StageName } from '../../bindings/StageName';
import type { StageOutcome } from '../../bindings/StageOutcome';

const LABEL: Record<StageName, string> = {
  credentials: 'Credentials',
  ssh: 'SSH tunnel',
  cloudsql: 'Cloud SQL connector',
  tcp: 'TCP',
  tls_offer: 'TLS offer',
  session: 'TLS handshake and sign-in',
  query: 'First query',
};

const MARK: Record<StageOutcome, string> = {
  passed: '✓',
  failed: '✖',
  skipped: '–',
};

export function TestStages({ stages }: { stages: Stage[] }) {
  if (stages.length === 0) return null;
  return (
    <ol className="test-stages small" data-testid="test-stages" aria-label="Connection test stages">
      {stages.map((s) => (
        <li
          key={s.name}
          className={`test-stage stage-${s.outcome}`}
          data-testid="test-stage"
          data-name={s.name}
          data-outcome={s.outcome}
        >
          <span className="stage-mark" aria-hidden="true">
            {MARK[s.outcome]}
          </span>
          <span className="stage-name">{LABEL[s.name]}</span>
          <span className="stage-outcome">{s.outcome}</span>
          <span className="stage-ms mono">{s.ms} ms</span>
          <span className="stage-detail muted">{s.error ? s.error.code : (s.detail ?? '')}</span>
        </li>
      ))}
    </ol>
  );
}
