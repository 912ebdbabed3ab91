// Loading, empty and error states, used by every view.
import type { ReactNode } from 'react';
import { nextStep, type UiError } from '../lib/errors';
import { useNav } from '../lib/nav';
import { Progress } from './Progress';

export function ErrorBox({ error, onRetry }: { error: UiError; onRetry?: (() => void) | undefined }) {
  const nav = useNav();
  const step = nextStep(error.code);
  return (
    <div className="error-box" role="alert" data-testid="error" data-code={error.code}>
      <div className="error-title">
        Error <code className="error-code">{error.code}</code>
      </div>
      <p className="error-message" data-testid="error-message">
        {error.message}
      </p>
      {step && (
        <p className="error-next" data-testid="error-next">
          <strong>Next:</strong> {step.text}
        </p>
      )}
      <div className="error-actions">
        {onRetry && (
          <button type="button" className="button" onClick={onRetry}>
            Retry
          </button>
        )}
        {(step?.action === 'connections' || step?.action === 'password') && nav.route.view !== 'connections' && (
          <button type="button" className="button" onClick={() => nav.navigate({ view: 'connections' })}>
            Open Connections
          </button>
        )}
      </div>
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <div className="state loading" data-testid="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      Loading{what ? ` ${what}` : ''}…
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty" data-testid="empty">
      <div className="empty-title">{title}</div>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

/** Shows loading, error or the content of a query, keeping old data visible while reloading. */
export function QueryView<T>({
  q,
  what,
  children,
}: {
  q: {
    status: 'loading' | 'ready' | 'failed';
    data: T | null;
    error: UiError | null;
    reload: () => void;
    cancel?: () => void;
  };
  what?: string;
  children: (data: T) => ReactNode;
}) {
  if (q.status === 'failed' && q.error) {
    return (
      <>
        <ErrorBox error={q.error} onRetry={q.reload} />
        {q.data !== null && children(q.data)}
      </>
    );
  }
  if (q.data === null) {
    return (
      <>
        {what === undefined ? <Loading /> : <Loading what={what} />}
        {q.cancel && <Progress label={`Reading ${what ?? ''}`.trim()} onCancel={q.cancel} delayMs={1500} />}
      </>
    );
  }
  return <>{children(q.data)}</>;
}

export function Notes({ notes }: { notes: ReadonlyArray<string> | null | undefined }) {
  if (!notes || notes.length === 0) return null;
  return (
    <ul className="notes" data-testid="notes">
      {notes.map((n) => (
        <li key={n}>{n}</li>
      ))}
    </ul>
  );
}
