import { describe, expect, it } from 'vitest';
import { pageOf, rowsOf, toDrop } from './usePagedWindow';

describe('the paged window', () => {
  const pages = [{ count: 300 }, { count: 300 }, { count: 120 }];

  it('finds the page of a row by the pages first-read sizes', () => {
    expect(pageOf(pages, 0)).toBe(0);
    expect(pageOf(pages, 299)).toBe(0);
    expect(pageOf(pages, 300)).toBe(1);
    expect(pageOf(pages, 719)).toBe(2);
    expect(pageOf(pages, 720)).toBe(-1);
  });

  it('drops the resident pages farthest from the one in view, down to the number kept', () => {
    const resident = (n: number) => Array.from({ length: n }, () => ({ rows: [1] as unknown[] | null }));
    expect(toDrop(resident(3), 2, 12)).toEqual([]);
    const many = resident(15);
    expect(toDrop(many, 14, 12).sort((a, b) => a - b)).toEqual([0, 1, 2]);
    expect(toDrop(many, 0, 12).sort((a, b) => a - b)).toEqual([12, 13, 14]);
    // Pages already dropped are not counted.
    many[0] = { rows: null };
    expect(toDrop(many, 14, 12).sort((a, b) => a - b)).toEqual([1, 2]);
  });
});

describe('rowsOf', () => {
  const pages = [
    { rows: ['a0', 'a1', 'a2'], count: 3 },
    { rows: null, count: 2 },
    { rows: ['c0'], count: 1 },
    // A refetched page that came back shorter keeps its place.
    { rows: ['d0'], count: 2 },
  ];
  it('finds each row in its page, undefined where the page was dropped', () => {
    const rows = rowsOf(pages);
    expect(rows.length).toBe(8);
    expect(Array.from({ length: rows.length }, (_, i) => rows.at(i))).toEqual([
      'a0',
      'a1',
      'a2',
      undefined,
      undefined,
      'c0',
      'd0',
      undefined,
    ]);
  });
  it('answers undefined outside the list', () => {
    const rows = rowsOf(pages);
    expect(rows.at(-1)).toBeUndefined();
    expect(rows.at(8)).toBeUndefined();
    expect(rows.at(1.5)).toBeUndefined();
    expect(rowsOf([]).length).toBe(0);
    expect(rowsOf([]).at(0)).toBeUndefined();
  });
});
