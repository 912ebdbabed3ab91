// Keyboard shortcuts of the whole window.
import { useEffect, useRef } from 'react';

/** Whether the event comes from a text field (where letters and Backspace belong to it). */
export function inTextField(target: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (target as HTMLInputElement).type;
    return !['checkbox', 'radio', 'button', 'submit', 'range'].includes(type);
  }
  return false;
}

/** Focuses the current view's search or filter field (marked `data-search`). */
export function focusSearch(): boolean {
  const el = document.querySelector<HTMLInputElement>('main [data-search]');
  if (!el) return false;
  el.focus();
  el.select?.();
  return true;
}

export interface ShortcutHandlers {
  back: () => void;
  view: (index: number) => void;
  viewByKey: (key: string) => boolean;
  escape: () => boolean;
  help: () => void;
}

export const SHORTCUTS: ReadonlyArray<[string, string]> = [
  ['/  or  Ctrl+K', 'Focus the search or filter field of the view'],
  ['Alt+←  or  Backspace', 'Go back (Backspace outside text fields)'],
  ['Ctrl+1 … Ctrl+9', 'Switch to the n-th view of the sidebar'],
  ['g then a letter', 'Switch view (the letter is shown in the sidebar)'],
  ['↑ / ↓  or  j / k', 'Move in lists; Enter opens'],
  ['Esc', 'Close the open pane, dialog or this overlay'],
  ['?', 'Show this list'],
];

/** The parts of a key event the shortcuts look at. */
export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** What a key press asks for. */
export type Shortcut =
  | { kind: 'search' }
  | { kind: 'view'; index: number }
  | { kind: 'back' }
  | { kind: 'blur' }
  | { kind: 'escape' }
  | { kind: 'help' }
  | { kind: 'view-by-key'; key: string }
  | { kind: 'g' }
  | { kind: 'none' };

/**
 * The shortcut of a key press: `typing` when it comes from a text field, `afterG` when `g` was
 * pressed just before (the second key of `g` + letter).
 */
export function shortcutFor(e: KeyPress, typing: boolean, afterG: boolean): Shortcut {
  const command = e.ctrlKey || e.metaKey;
  if (command && !e.altKey && e.key.toLowerCase() === 'k') return { kind: 'search' };
  if (command && !e.altKey && /^[1-9]$/.test(e.key)) return { kind: 'view', index: Number(e.key) - 1 };
  if (e.altKey && e.key === 'ArrowLeft') return { kind: 'back' };
  if (e.key === 'Escape') return typing ? { kind: 'blur' } : { kind: 'escape' };
  if (typing || command || e.altKey) return { kind: 'none' };
  if (e.key === 'Backspace') return { kind: 'back' };
  if (e.key === '/') return { kind: 'search' };
  if (e.key === '?') return { kind: 'help' };
  if (afterG && e.key.length === 1) return { kind: 'view-by-key', key: e.key.toLowerCase() };
  if (e.key === 'g') return { kind: 'g' };
  return { kind: 'none' };
}

/** How long after `g` its letter may come. */
export const G_WINDOW_MS = 1200;

export function useShortcuts(h: ShortcutHandlers) {
  const ref = useRef(h);
  ref.current = h;
  useEffect(() => {
    let gAt = 0;
    const onKey = (e: KeyboardEvent) => {
      const handlers = ref.current;
      const now = Date.now();
      const s = shortcutFor(e, inTextField(e.target), now - gAt < G_WINDOW_MS);
      if (s.kind === 'view-by-key') gAt = 0;
      switch (s.kind) {
        case 'search':
          if (focusSearch()) e.preventDefault();
          return;
        case 'view':
          e.preventDefault();
          handlers.view(s.index);
          return;
        case 'back':
          e.preventDefault();
          handlers.back();
          return;
        case 'blur':
          if (e.target instanceof HTMLElement) e.target.blur();
          return;
        case 'escape':
          if (handlers.escape()) e.preventDefault();
          return;
        case 'help':
          e.preventDefault();
          handlers.help();
          return;
        case 'view-by-key':
          if (handlers.viewByKey(s.key)) e.preventDefault();
          return;
        case 'g':
          gAt = now;
          return;
        case 'none':
          return;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

/**
 * Up/Down (and j/k) move a selection in a list; Enter opens. Returns a key handler for the
 * list's container.
 */
export function listKeys(
  count: number,
  index: number,
  select: (i: number) => void,
  open?: (i: number) => void,
): (e: React.KeyboardEvent) => void {
  return (e) => {
    if (inTextField(e.target)) return;
    if (e.key === 'ArrowDown' || e.key === 'j') {
      e.preventDefault();
      select(Math.min(count - 1, index + 1));
    } else if (e.key === 'ArrowUp' || e.key === 'k') {
      e.preventDefault();
      select(Math.max(0, index - 1));
    } else if (e.key === 'Home') {
      e.preventDefault();
      select(0);
    } else if (e.key === 'End') {
      e.preventDefault();
      select(count - 1);
    } else if (e.key === 'Enter' && open && index >= 0) {
      e.preventDefault();
      open(index);
    }
  };
}
