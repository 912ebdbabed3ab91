// An entity reference that opens the entity (click) or its graph (the small button).
import { useNav } from '../lib/nav';

export function RefLink({ entityRef, missing }: { entityRef: string; missing?: boolean }) {
  const nav = useNav();
  return (
    <span className="ref-link">
      <button
        type="button"
        className={missing ? 'button-link mono bad' : 'button-link mono'}
        title={missing ? 'Not in the catalog' : 'Open the entity'}
        onClick={() => nav.navigate({ view: 'entities', entity: entityRef })}
      >
        {entityRef}
      </button>
    </span>
  );
}

export function StatusPill({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{status}</span>;
}
