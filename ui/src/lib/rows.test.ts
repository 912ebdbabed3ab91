import { describe, expect, it } from 'vitest';
import { scrollToSee, visibleRows } from './rows';

describe('visibleRows', () => {
  it('renders the rows in the viewport and the overscan on each side', () => {
    // 26 px rows, a 260 px viewport scrolled to row 100: rows 100..109 are seen.
    expect(visibleRows(2600, 260, 26, 1000, 12)).toEqual([88, 121]);
  });
  it('stops at the ends of the list', () => {
    expect(visibleRows(0, 260, 26, 1000, 12)).toEqual([0, 21]);
    expect(visibleRows(26 * 995, 260, 26, 1000, 12)).toEqual([983, 999]);
    expect(visibleRows(0, 260, 26, 3, 12)).toEqual([0, 2]);
  });
  it('renders nothing for an empty list and copes with odd input', () => {
    expect(visibleRows(0, 260, 26, 0, 12)).toEqual([0, -1]);
    expect(visibleRows(-50, 260, 26, 100, 0)).toEqual([0, 9]);
    // Scrolled past the end (the list just shrank): the last rows.
    expect(visibleRows(1e9, 260, 26, 100, 2)).toEqual([99, 99]);
    // Not measured yet: the overscan only.
    expect(visibleRows(0, 0, 26, 100, 12)).toEqual([0, 11]);
  });
  it('costs the same at a million rows', () => {
    expect(visibleRows(26 * 999_990, 260, 26, 1_000_000, 12)).toEqual([999_978, 999_999]);
  });
});

describe('scrollToSee', () => {
  it('moves only when the row is not fully in view, and as little as it can', () => {
    expect(scrollToSee(5, 0, 260, 26)).toBeNull();
    expect(scrollToSee(10, 0, 260, 26)).toBe(26);
    expect(scrollToSee(3, 260, 260, 26)).toBe(78);
    expect(scrollToSee(0, 0, 0, 26)).toBe(0);
  });
});
