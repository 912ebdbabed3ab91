// The console's SQL editor: CodeMirror 6 with PostgreSQL highlighting, completion of the chosen
// database's tables and columns, and the run keys (Ctrl+Enter runs the selection or the whole
// script, Ctrl+Shift+Enter the statement under the cursor).
import { autocompletion } from '@codemirror/autocomplete';
import { PostgreSQL, sql, type SQLNamespace } from '@codemirror/lang-sql';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { forwardRef, useEffect, useImperativeHandle, useRef } from 'react';

export interface EditorHandle {
  text: () => string;
  setText: (text: string) => void;
  /** The selection (from, to) in the text. */
  selection: () => [number, number];
  focus: () => void;
}

export interface EditorProps {
  initial: string;
  /** Table name -> column names, for completion. */
  schema: Record<string, string[]>;
  onChange: (text: string) => void;
  onRun: () => void;
  onRunStatement: () => void;
}

export const Editor = forwardRef<EditorHandle, EditorProps>(function Editor(
  { initial, schema, onChange, onRun, onRunStatement },
  ref,
) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const lang = useRef(new Compartment());
  const handlers = useRef({ onChange, onRun, onRunStatement });
  handlers.current = { onChange, onRun, onRunStatement };

  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: initial,
        extensions: [
          basicSetup,
          lang.current.of(sql({ dialect: PostgreSQL, upperCaseKeywords: true })),
          autocompletion({ activateOnTyping: true }),
          Prec.highest(
            keymap.of([
              {
                key: 'Mod-Enter',
                run: () => {
                  handlers.current.onRun();
                  return true;
                },
              },
              {
                key: 'Shift-Mod-Enter',
                run: () => {
                  handlers.current.onRunStatement();
                  return true;
                },
              },
            ]),
          ),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) handlers.current.onChange(u.state.doc.toString());
          }),
          EditorView.contentAttributes.of({ 'aria-label': 'SQL', 'data-testid': 'console-input' }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is made once; its text is then its own.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const ns: SQLNamespace = schema;
    view.current?.dispatch({
      effects: lang.current.reconfigure(sql({ dialect: PostgreSQL, upperCaseKeywords: true, schema: ns })),
    });
  }, [schema]);

  useImperativeHandle(ref, () => ({
    text: () => view.current?.state.doc.toString() ?? '',
    setText: (text: string) => {
      const v = view.current;
      if (!v) return;
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text } });
    },
    selection: () => {
      const s = view.current?.state.selection.main;
      return s ? [s.from, s.to] : [0, 0];
    },
    focus: () => view.current?.focus(),
  }));

  return <div className="console-editor" ref={host} data-testid="console-editor" data-tables={Object.keys(schema).length} />;
});

export default Editor;
