import { describe, expect, test } from 'vitest';
import { HIGHLIGHT_END, HIGHLIGHT_START, findSegments, highlightSegments } from './highlight';

describe('search highlights', () => {
  test('marked matches become segments, markup stays text', () => {
    const s = `the ${HIGHLIGHT_START}payment${HIGHLIGHT_END} <b>api</b>`;
    expect(highlightSegments(s)).toEqual([
      [false, 'the '],
      [true, 'payment'],
      [false, ' <b>api</b>'],
    ]);
    expect(highlightSegments('')).toEqual([]);
  });

  test('in-log search is case-insensitive and keeps the original case', () => {
    expect(findSegments('Error: ERROR in error', 'error')).toEqual([
      [true, 'Error'],
      [false, ': '],
      [true, 'ERROR'],
      [false, ' in '],
      [true, 'error'],
    ]);
    expect(findSegments('abc', '')).toEqual([[false, 'abc']]);
    expect(findSegments('abc', 'x')).toEqual([[false, 'abc']]);
  });
});
