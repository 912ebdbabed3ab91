// A long operation under way: elapsed time and a Cancel button that cancels it on the server.
import { useEffect, useState } from 'react';

export function Progress({
  label,
  onCancel,
  delayMs = 400,
}: {
  label: string;
  onCancel?: (() => void) | undefined;
  delayMs?: number;
}) {
  const [start] = useState(() => Date.now());
  const [now, setNow] = useState(start);
  const [cancelling, setCancelling] = useState(false);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(t);
  }, []);
  if (now - start < delayMs) return null;
  return (
    <div className="progress" role="status" data-testid="progress">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
      <span className="muted mono">{((now - start) / 1000).toFixed(1)} s</span>
      <div className="progress-bar" aria-hidden="true" />
      {onCancel && (
        <button
          type="button"
          className="button"
          data-testid="cancel-op"
          disabled={cancelling}
          onClick={() => {
            setCancelling(true);
            onCancel();
          }}
        >
          {cancelling ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
    </div>
  );
}
