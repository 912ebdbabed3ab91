import { describe, expect, test } from 'vitest';
import { spanColor, spanStyle } from './ansi';

describe('log colours', () => {
  test('named colours follow the theme', () => {
    expect(spanColor({ type: 'named', index: 1, name: 'red' })).toBe('var(--ansi-1)');
    expect(spanColor({ type: 'named', index: 17, name: 'red' })).toBe('var(--ansi-1)');
  });

  test("indexed colours use xterm's 256-colour table", () => {
    expect(spanColor({ type: 'indexed', index: 9 })).toBe('rgb(255, 0, 0)');
    // The 6x6x6 cube: 16 + 36r + 6g + b.
    expect(spanColor({ type: 'indexed', index: 16 })).toBe('rgb(0, 0, 0)');
    expect(spanColor({ type: 'indexed', index: 196 })).toBe('rgb(255, 0, 0)');
    expect(spanColor({ type: 'indexed', index: 21 })).toBe('rgb(0, 0, 255)');
    // The grey ramp.
    expect(spanColor({ type: 'indexed', index: 232 })).toBe('rgb(8, 8, 8)');
    expect(spanColor({ type: 'indexed', index: 255 })).toBe('rgb(238, 238, 238)');
  });

  test('RGB colours are used as they are', () => {
    expect(spanColor({ type: 'rgb', r: 1, g: 2, b: 3 })).toBe('rgb(1, 2, 3)');
  });
});

describe('log span styles', () => {
  test('a plain span has no style', () => {
    expect(spanStyle({ text: 'x' })).toEqual({});
  });

  test('colours, weight, dimness, slant and lines', () => {
    expect(
      spanStyle({
        text: 'x',
        fg: { type: 'named', index: 2, name: 'green' },
        bg: { type: 'rgb', r: 10, g: 20, b: 30 },
        bold: true,
        dim: true,
        italic: true,
        underline: true,
        strikethrough: true,
      }),
    ).toEqual({
      color: 'var(--ansi-2)',
      background: 'rgb(10, 20, 30)',
      fontWeight: 700,
      opacity: 0.65,
      fontStyle: 'italic',
      textDecoration: 'underline line-through',
    });
    expect(spanStyle({ text: 'x', underline: true }).textDecoration).toBe('underline');
  });

  test('inverse swaps the colours, with the log colours for those not set', () => {
    expect(spanStyle({ text: 'x', inverse: true })).toEqual({ color: 'var(--log-bg)', background: 'var(--text)' });
    expect(spanStyle({ text: 'x', inverse: true, fg: { type: 'indexed', index: 9 } })).toEqual({
      color: 'var(--log-bg)',
      background: 'rgb(255, 0, 0)',
    });
    expect(
      spanStyle({ text: 'x', inverse: true, fg: { type: 'indexed', index: 9 }, bg: { type: 'named', index: 4, name: 'blue' } }),
    ).toEqual({ color: 'var(--ansi-4)', background: 'rgb(255, 0, 0)' });
  });
});
