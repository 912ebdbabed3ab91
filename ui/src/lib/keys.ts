// Keyboard shortcuts of the whole window.
import { useEffect, useRef } from 'react';

/** Whether the event comes from a text field (where letters and Backspace belong to it). */
export function inTextField(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
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

export function useShortcuts(h: ShortcutHandlers) {
  const ref = useRef(h);
  ref.current = h;
  useEffect(() => {
    let gAt = 0;
    const onKey = (e: KeyboardEvent) => {
      const handlers = ref.current;
      const typing = inTextField(e.target);
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        if (focusSearch()) e.preventDefault();
        return;
      }
      if ((e.ctrlKey || e.metaKey) && !e.altKey && /^[1-9]$/.test(e.key)) {
        e.preventDefault();
        handlers.view(Number(e.key) - 1);
        return;
      }
      if (e.altKey && e.key === 'ArrowLeft') {
        e.preventDefault();
        handlers.back();
        return;
      }
      if (e.key === 'Escape') {
        if (typing && e.target instanceof HTMLElement) {
          e.target.blur();
          return;
        }
        if (handlers.escape()) e.preventDefault();
        return;
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'Backspace') {
        e.preventDefault();
        handlers.back();
        return;
      }
      if (e.key === '/') {
        if (focusSearch()) e.preventDefault();
        return;
      }
      if (e.key === '?') {
        e.preventDefault();
        handlers.help();
        return;
      }
      const now = Date.now();
      if (now - gAt < 1200 && e.key.length === 1) {
        gAt = 0;
        if (handlers.viewByKey(e.key.toLowerCase())) e.preventDefault();
        return;
      }
      if (e.key === 'g') {
        gAt = now;
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
