import { describe, expect, it } from 'vitest';
import type { PlanNode } from '../bindings/PlanNode';
import { cellText, confirmationAsked, nextSort, pieces, planLines, statementAt, toRun, view } from './console';

describe('pieces and the statement at the cursor', () => {
  const script = "SELECT ';' AS a;\n-- a comment; still a comment\nSELECT $x$ ; $x$, \"we;ird\" FROM t;\n\n  SELECT 3";
  it('splits at top-level semicolons only', () => {
    expect(pieces(script).map((p) => p.sql)).toEqual([
      "SELECT ';' AS a",
      '-- a comment; still a comment\nSELECT $x$ ; $x$, "we;ird" FROM t',
      'SELECT 3',
    ]);
    expect(pieces(' ; -- only a comment\n;')).toEqual([]);
  });
  it('finds the statement under the cursor', () => {
    expect(statementAt(script, 3)).toBe("SELECT ';' AS a");
    expect(statementAt(script, script.indexOf('$x$ ;') + 4)).toContain('we;ird');
    expect(statementAt(script, script.length)).toBe('SELECT 3');
    expect(statementAt('', 0)).toBeNull();
  });
  it('runs the selection when there is one', () => {
    expect(toRun('SELECT 1; SELECT 2', 10, 18)).toBe('SELECT 2');
    expect(toRun('SELECT 1; SELECT 2', 4, 4)).toBe('SELECT 1; SELECT 2');
  });
});

describe('loaded rows', () => {
  const rows = [
    ['b', 2, null],
    ['a', 10, { k: 1 }],
    [null, 1, 'x'],
  ];
  it('filters on any cell, JSON included, any case', () => {
    expect(view(rows, 'A', null)).toEqual([1]);
    expect(view(rows, '"k"', null)).toEqual([1]);
    expect(view(rows, '', null)).toEqual([0, 1, 2]);
  });
  it('sorts numbers as numbers, NULLs last both ways', () => {
    expect(view(rows, '', { column: 1, desc: false })).toEqual([2, 0, 1]);
    expect(view(rows, '', { column: 1, desc: true })).toEqual([1, 0, 2]);
    expect(view(rows, '', { column: 0, desc: false })).toEqual([1, 0, 2]);
    expect(view(rows, '', { column: 0, desc: true })).toEqual([0, 1, 2]);
  });
  it('cycles the sort and writes cells as text', () => {
    expect(nextSort(null, 2)).toEqual({ column: 2, desc: false });
    expect(nextSort({ column: 2, desc: false }, 2)).toEqual({ column: 2, desc: true });
    expect(nextSort({ column: 2, desc: true }, 2)).toBeNull();
    expect(cellText(null)).toBe('NULL');
    expect(cellText({ a: [1] })).toBe('{"a":[1]}');
    expect(cellText(3)).toBe('3');
  });
});

describe('plans and confirmations', () => {
  const node = (t: string, w: number, children: PlanNode[] = []): PlanNode => ({
    node_type: t,
    relation: null,
    index: null,
    details: [],
    startup_cost: 0,
    total_cost: 0,
    plan_rows: 0,
    actual_total_ms: null,
    actual_rows: null,
    loops: null,
    self_weight: w,
    slowest: false,
    children,
  });
  it('flattens the tree with depth and share', () => {
    const lines = planLines(node('Sort', 1, [node('Hash Join', 1, [node('Seq Scan', 2)])]));
    expect(lines.map((l) => [l.node.node_type, l.depth, l.share])).toEqual([
      ['Sort', 0, 0.25],
      ['Hash Join', 1, 0.25],
      ['Seq Scan', 2, 0.5],
    ]);
  });
  it("reads the database's name a write confirmation asks for", () => {
    expect(
      confirmationAsked("to run statements that may write, type the database's name `backstage_plugin_catalog` to confirm"),
    ).toBe('backstage_plugin_catalog');
    expect(confirmationAsked('something else')).toBeNull();
  });
});
