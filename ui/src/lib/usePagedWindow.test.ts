import { describe, expect, it } from 'vitest';
import { pageOf, toDrop } from './usePagedWindow';

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
