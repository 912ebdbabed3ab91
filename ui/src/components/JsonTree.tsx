// A collapsible JSON tree. Values are rendered as text nodes only.
import { useState } from 'react';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function preview(v: Json): string {
  if (Array.isArray(v)) return `[${v.length}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    return `{${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}}`;
  }
  return '';
}

function Leaf({ value }: { value: Json }) {
  if (value === null) return <span className="j-null">null</span>;
  if (typeof value === 'string') return <span className="j-str">"{value}"</span>;
  if (typeof value === 'number') return <span className="j-num">{String(value)}</span>;
  if (typeof value === 'boolean') return <span className="j-bool">{String(value)}</span>;
  return null;
}

function Node({ name, value, depth, open }: { name: string | null; value: Json; depth: number; open: number }) {
  const composite = value !== null && typeof value === 'object';
  const [expanded, setExpanded] = useState(depth < open);
  const label = name === null ? null : <span className="j-key">{name}: </span>;
  if (!composite) {
    return (
      <div className="j-row">
        {label}
        <Leaf value={value} />
      </div>
    );
  }
  const entries: Array<[string, Json]> = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  return (
    <div className="j-node">
      <button
        type="button"
        className="j-toggle"
        aria-expanded={expanded}
        onClick={() => setExpanded((e) => !e)}
      >
        <span className="j-caret">{expanded ? '▾' : '▸'}</span>
        {label}
        <span className="j-preview">{expanded ? (Array.isArray(value) ? '[' : '{') : preview(value)}</span>
      </button>
      {expanded && (
        <div className="j-children">
          {entries.length === 0 ? (
            <div className="j-row muted">(empty)</div>
          ) : (
            entries.map(([k, v]) => <Node key={k} name={k} value={v} depth={depth + 1} open={open} />)
          )}
        </div>
      )}
    </div>
  );
}

/** `open`: how many levels start expanded. */
export function JsonTree({ value, open = 2 }: { value: unknown; open?: number }) {
  return (
    <div className="json-tree mono" data-testid="json-tree">
      <Node name={null} value={value as Json} depth={0} open={open} />
    </div>
  );
}

/** A cell value: scalars inline, objects and arrays as a small collapsed tree. */
export function JsonCell({ value }: { value: unknown }) {
  if (value === null || typeof value !== 'object') {
    return <Leaf value={value as Json} />;
  }
  return <JsonTree value={value} open={0} />;
}
