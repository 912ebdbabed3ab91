import type { ReactNode } from 'react';

export function Tabs<T extends string>({
  tabs,
  active,
  onChange,
  testid,
}: {
  tabs: ReadonlyArray<{ id: T; label: ReactNode; disabled?: boolean }>;
  active: T;
  onChange: (id: T) => void;
  testid?: string;
}) {
  return (
    <div className="tabs" role="tablist" data-testid={testid}>
      {tabs.map((t) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          className={t.id === active ? 'tab active' : 'tab'}
          aria-selected={t.id === active}
          disabled={t.disabled}
          data-testid={`tab-${t.id}`}
          onClick={() => onChange(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
