// Modal dialogs: a plain one, and one that asks the user to type a word to confirm a
// deliberate act (write mode, unlocking, applying migrations).
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { closesDialog, dialogs } from '../lib/dialogs';

export function Dialog({
  title,
  onClose,
  children,
  testid,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  testid?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, button:not(.dialog-x)');
    first?.focus();
    return () => prev?.focus?.();
  }, []);
  // Esc closes the dialog wherever the focus is (a click on the dialog's text takes it away
  // from the dialog): a listener on the window, in the capture phase so that it answers before
  // the window's shortcuts (which would close the pane behind) and only for the innermost dialog.
  useEffect(() => {
    const id = dialogs.push();
    const onKey = (e: KeyboardEvent) => {
      if (!closesDialog(e) || !dialogs.isTop(id)) return;
      e.preventDefault();
      e.stopPropagation();
      close.current();
    };
    window.addEventListener('keydown', onKey, true);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      dialogs.remove(id);
    };
  }, []);
  return (
    <div
      className="dialog-backdrop"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-label={title}
        ref={ref}
        data-testid={testid}
      >
        <div className="dialog-head">
          <h2>{title}</h2>
          <button type="button" className="dialog-x" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </div>
        <div className="dialog-body">{children}</div>
      </div>
    </div>
  );
}

export function ConfirmDialog({
  title,
  children,
  word,
  confirmLabel,
  danger,
  busy,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  /** The text to type before the confirm button is enabled; none: a plain confirmation. */
  word?: string | undefined;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState('');
  const ok = word === undefined || typed === word;
  return (
    <Dialog title={title} onClose={onClose} testid="confirm-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (ok && !busy) onConfirm();
        }}
      >
        <div className="confirm-text">{children}</div>
        {word !== undefined && (
          <label className="field">
            <span>
              Type <code>{word}</code> to confirm
            </span>
            <input
              className="input mono"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              data-testid="confirm-input"
            />
          </label>
        )}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            className={danger ? 'button button-danger' : 'button button-primary'}
            disabled={!ok || busy}
            data-testid="confirm-ok"
          >
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
