import { describe, expect, test, vi } from 'vitest';
import { VIEWS } from './nav';
import { G_WINDOW_MS, SHORTCUTS, inTextField, listKeys, shortcutFor, type KeyPress } from './keys';

const key = (k: string, mods: Partial<KeyPress> = {}): KeyPress => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

describe('window shortcuts (as the help lists them)', () => {
  test('/ and Ctrl+K focus the search field; Ctrl+K also while typing', () => {
    expect(shortcutFor(key('/'), false, false)).toEqual({ kind: 'search' });
    expect(shortcutFor(key('k', { ctrlKey: true }), false, false)).toEqual({ kind: 'search' });
    expect(shortcutFor(key('K', { metaKey: true }), true, false)).toEqual({ kind: 'search' });
    expect(shortcutFor(key('/'), true, false)).toEqual({ kind: 'none' });
  });

  test('Ctrl+1 … Ctrl+9 switch to the n-th view', () => {
    expect(shortcutFor(key('1', { ctrlKey: true }), false, false)).toEqual({ kind: 'view', index: 0 });
    expect(shortcutFor(key('9', { ctrlKey: true }), true, false)).toEqual({ kind: 'view', index: 8 });
    expect(shortcutFor(key('0', { ctrlKey: true }), false, false)).toEqual({ kind: 'none' });
  });

  test('Alt+Left and Backspace go back, Backspace not while typing', () => {
    expect(shortcutFor(key('ArrowLeft', { altKey: true }), true, false)).toEqual({ kind: 'back' });
    expect(shortcutFor(key('Backspace'), false, false)).toEqual({ kind: 'back' });
    expect(shortcutFor(key('Backspace'), true, false)).toEqual({ kind: 'none' });
  });

  test('Esc leaves a text field first, then closes', () => {
    expect(shortcutFor(key('Escape'), true, false)).toEqual({ kind: 'blur' });
    expect(shortcutFor(key('Escape'), false, false)).toEqual({ kind: 'escape' });
  });

  test('? shows the list; g then a letter switches view', () => {
    expect(shortcutFor(key('?'), false, false)).toEqual({ kind: 'help' });
    expect(shortcutFor(key('g'), false, false)).toEqual({ kind: 'g' });
    expect(shortcutFor(key('E'), false, true)).toEqual({ kind: 'view-by-key', key: 'e' });
    expect(shortcutFor(key('e'), false, false)).toEqual({ kind: 'none' });
    expect(shortcutFor(key('ArrowDown'), false, true)).toEqual({ kind: 'none' });
    expect(shortcutFor(key('e'), true, true)).toEqual({ kind: 'none' });
  });

  test('without a DOM nothing is a text field', () => {
    expect(inTextField(null)).toBe(false);
    expect(inTextField({} as EventTarget)).toBe(false);
  });
});

describe('the help list and the keys behind it', () => {
  test('each row of the help names keys that do what it says', () => {
    expect(SHORTCUTS.map(([k]) => k)).toEqual([
      '/  or  Ctrl+K',
      'Alt+←  or  Backspace',
      'Ctrl+1 … Ctrl+9',
      'g then a letter',
      '↑ / ↓  or  j / k',
      'Esc',
      '?',
    ]);
    expect(shortcutFor(key('/'), false, false).kind).toBe('search');
    expect(shortcutFor(key('k', { ctrlKey: true }), false, false).kind).toBe('search');
    expect(shortcutFor(key('ArrowLeft', { altKey: true }), false, false).kind).toBe('back');
    expect(shortcutFor(key('Backspace'), false, false).kind).toBe('back');
    for (let i = 1; i <= 9; i++) {
      expect(shortcutFor(key(String(i), { ctrlKey: true }), false, false)).toEqual({ kind: 'view', index: i - 1 });
    }
    expect(shortcutFor(key('Escape'), false, false).kind).toBe('escape');
    expect(shortcutFor(key('?'), false, false).kind).toBe('help');
  });

  test('every view has its own letter, and g then that letter names it', () => {
    const letters = VIEWS.map((v) => v.key);
    expect(new Set(letters).size).toBe(letters.length);
    for (const v of VIEWS) {
      expect(v.key).toMatch(/^[a-z]$/);
      expect(shortcutFor(key(v.key), false, true)).toEqual({ kind: 'view-by-key', key: v.key });
    }
    // g g is the graph, not a second g.
    expect(VIEWS.find((v) => v.key === 'g')?.id).toBe('graph');
    expect(G_WINDOW_MS).toBeGreaterThanOrEqual(500);
  });

  test('modifiers other than the listed ones do nothing', () => {
    expect(shortcutFor(key('1', { ctrlKey: true, altKey: true }), false, false).kind).toBe('none');
    expect(shortcutFor(key('e', { altKey: true }), false, true).kind).toBe('none');
    expect(shortcutFor(key('e', { ctrlKey: true }), false, true).kind).toBe('none');
    expect(shortcutFor(key('ArrowLeft'), false, false).kind).toBe('none');
    expect(shortcutFor(key('?'), true, false).kind).toBe('none');
  });
});

describe('list keys', () => {
  const press = (k: string) => {
    const e = { key: k, target: null, preventDefault: vi.fn() };
    return e as unknown as React.KeyboardEvent & { preventDefault: ReturnType<typeof vi.fn> };
  };

  test('move within bounds and open with Enter', () => {
    const select = vi.fn();
    const open = vi.fn();
    listKeys(5, 4, select, open)(press('ArrowDown'));
    expect(select).toHaveBeenLastCalledWith(4);
    listKeys(5, 0, select, open)(press('k'));
    expect(select).toHaveBeenLastCalledWith(0);
    listKeys(5, 2, select, open)(press('j'));
    expect(select).toHaveBeenLastCalledWith(3);
    listKeys(5, 2, select, open)(press('End'));
    expect(select).toHaveBeenLastCalledWith(4);
    listKeys(5, 2, select, open)(press('Home'));
    expect(select).toHaveBeenLastCalledWith(0);
    const enter = press('Enter');
    listKeys(5, 2, select, open)(enter);
    expect(open).toHaveBeenCalledWith(2);
    expect(enter.preventDefault).toHaveBeenCalled();
    listKeys(5, -1, select, open)(press('Enter'));
    expect(open).toHaveBeenCalledTimes(1);
  });

  test('the first move from no selection selects the first row; other keys are left alone', () => {
    const select = vi.fn();
    listKeys(5, -1, select)(press('ArrowDown'));
    expect(select).toHaveBeenLastCalledWith(0);
    listKeys(5, -1, select)(press('ArrowUp'));
    expect(select).toHaveBeenLastCalledWith(0);
    const other = press('x');
    listKeys(5, 2, select)(other);
    expect(select).toHaveBeenCalledTimes(2);
    expect(other.preventDefault).not.toHaveBeenCalled();
    // Without an open handler Enter does nothing.
    const enter = press('Enter');
    listKeys(5, 2, select)(enter);
    expect(enter.preventDefault).not.toHaveBeenCalled();
  });
});
