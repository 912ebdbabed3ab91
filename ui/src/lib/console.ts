// The console's pure logic: the statement under the cursor, sorting and filtering loaded rows,
// a cell as text, the plan tree flattened for display, and whether a script may write.
import type { PlanNode } from '../bindings/PlanNode';

/** A statement of a script and where it sits in the text. */
export interface Piece {
  sql: string;
  from: number;
  to: number;
}

/**
 * Splits at top-level semicolons, as the server would read the script: quotes, quoted
 * identifiers, dollar quotes and comments are skipped. Empty pieces are dropped.
 */
export function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const raw = text.slice(start, end);
    if (raw.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim()) {
      const lead = raw.length - raw.trimStart().length;
      out.push({ sql: raw.trim(), from: start + lead, to: start + raw.trimEnd().length });
    }
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === '/' && next === '*') {
      let depth = 0;
      while (i < text.length) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else if (c === "'" || c === '"') {
      i++;
      while (i < text.length) {
        if (text[i] === c) {
          if (text[i + 1] === c) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (m) {
        const end = text.indexOf(m[0], i + m[0].length);
        i = end < 0 ? text.length : end + m[0].length;
      } else i++;
    } else if (c === ';') {
      push(i);
      start = i + 1;
      i++;
    } else i++;
  }
  push(text.length);
  return out;
}

/** The statement the cursor is in (or right after), else the last one before it. */
export function statementAt(text: string, cursor: number): string | null {
  const all = pieces(text);
  if (all.length === 0) return null;
  let best = all[0] as Piece;
  for (const p of all) {
    if (p.from <= cursor) best = p;
  }
  return best.sql;
}

/** What a run should take: the selection when there is one, else the whole script. */
export function toRun(text: string, selFrom: number, selTo: number): string {
  const sel = text.slice(Math.min(selFrom, selTo), Math.max(selFrom, selTo));
  return sel.trim() ? sel : text;
}

/** A cell as one line of text: NULL, compact JSON, or the text itself. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export interface SortSpec {
  column: number;
  desc: boolean;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return cellText(a).localeCompare(cellText(b), undefined, { numeric: true });
}

/**
 * The indexes of the loaded rows that contain `filter` (any case, in any cell), in `sort`
 * order (NULLs last in both directions); the rows themselves are not copied.
 */
export function view(rows: ReadonlyArray<ReadonlyArray<unknown>>, filter: string, sort: SortSpec | null): number[] {
  const f = filter.trim().toLowerCase();
  const idx: number[] = [];
  rows.forEach((r, i) => {
    if (!f || r.some((c) => cellText(c).toLowerCase().includes(f))) idx.push(i);
  });
  if (sort) {
    idx.sort((x, y) => {
      const a = rows[x]?.[sort.column];
      const b = rows[y]?.[sort.column];
      const nullA = a === null || a === undefined;
      const nullB = b === null || b === undefined;
      if (nullA || nullB) return nullA === nullB ? x - y : nullA ? 1 : -1;
      const c = compare(a, b);
      return (sort.desc ? -c : c) || x - y;
    });
  }
  return idx;
}

/** The next sort after a click on column `c`: ascending, descending, none. */
export function nextSort(s: SortSpec | null, c: number): SortSpec | null {
  if (!s || s.column !== c) return { column: c, desc: false };
  if (!s.desc) return { column: c, desc: true };
  return null;
}

/** A plan node with its depth, in display order. */
export interface PlanLine {
  node: PlanNode;
  depth: number;
  /** Its share of the plan's total own weight, 0-1. */
  share: number;
}

export function planLines(root: PlanNode): PlanLine[] {
  const total = sumWeight(root) || 1;
  const out: PlanLine[] = [];
  const walk = (n: PlanNode, depth: number) => {
    out.push({ node: n, depth, share: n.self_weight / total });
    for (const c of n.children) walk(c, depth + 1);
  };
  walk(root, 0);
  return out;
}

function sumWeight(n: PlanNode): number {
  return n.children.reduce((s, c) => s + sumWeight(c), n.self_weight);
}

/** The database's name the server asks for, from a `config` error asking to confirm a write. */
export function confirmationAsked(message: string): string | null {
  const m = /type the database's name `([^`]+)` to confirm/.exec(message);
  return m ? (m[1] as string) : null;
}
