import { describe, expect, test } from 'vitest';
import { DialogStack, closesDialog } from './dialogs';

describe('open dialogs', () => {
  test('only the innermost answers Esc, and the one below takes over when it closes', () => {
    const s = new DialogStack();
    expect(s.isTop(1)).toBe(false);
    const a = s.push();
    expect(s.isTop(a)).toBe(true);
    const b = s.push();
    expect(s.isTop(a)).toBe(false);
    expect(s.isTop(b)).toBe(true);
    s.remove(b);
    expect(s.isTop(a)).toBe(true);
    expect(s.size).toBe(1);
  });

  test('closing out of order keeps the innermost', () => {
    const s = new DialogStack();
    const a = s.push();
    const b = s.push();
    const c = s.push();
    s.remove(b);
    expect(s.isTop(c)).toBe(true);
    s.remove(c);
    expect(s.isTop(a)).toBe(true);
    s.remove(a);
    expect(s.size).toBe(0);
    expect(s.isTop(a)).toBe(false);
    // Ids are never reused: a stale listener of a closed dialog never answers.
    expect(s.push()).not.toBe(a);
  });

  test('Esc closes, other keys and Esc while composing text do not', () => {
    expect(closesDialog({ key: 'Escape' })).toBe(true);
    expect(closesDialog({ key: 'Escape', isComposing: false })).toBe(true);
    expect(closesDialog({ key: 'Escape', isComposing: true })).toBe(false);
    expect(closesDialog({ key: 'Enter' })).toBe(false);
    expect(closesDialog({ key: 'Esc' })).toBe(false);
  });
});
