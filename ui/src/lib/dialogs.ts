// Which open dialog a key press belongs to. Dialogs listen on the window (the focus may have
// left them, after a click on their text), so when one opens over another only the innermost,
// the last opened, may answer.

export class DialogStack {
  private open: number[] = [];
  private last = 0;

  /** A newly opened dialog: its id, now the innermost. */
  push(): number {
    this.last += 1;
    this.open.push(this.last);
    return this.last;
  }

  /** The dialog `id` closed (in any order). */
  remove(id: number): void {
    this.open = this.open.filter((x) => x !== id);
  }

  /** Whether `id` is the innermost open dialog. */
  isTop(id: number): boolean {
    return this.open.length > 0 && this.open[this.open.length - 1] === id;
  }

  get size(): number {
    return this.open.length;
  }
}

/** The dialogs of this window. */
export const dialogs = new DialogStack();

/** Whether a key press closes the innermost dialog: Esc, unless an input method is composing text. */
export function closesDialog(e: { key: string; isComposing?: boolean }): boolean {
  return e.key === 'Escape' && !e.isComposing;
}
