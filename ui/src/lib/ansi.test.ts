import { describe, expect, test } from 'vitest';
import { spanColor } from './ansi';

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
