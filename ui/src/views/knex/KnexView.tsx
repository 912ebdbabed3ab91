// Knex migration tables and locks of every plugin database; unlocking needs write mode and a
// confirmation naming the database.
import { useState } from 'react';
import * as cmd from '../../commands';
import type { KnexTable } from '../../bindings/KnexTable';
import { ConfirmDialog } from '../../components/Dialog';
import { Progress } from '../../components/Progress';
import { Empty, ErrorBox } from '../../components/states';
import { toUiError, type UiError } from '../../lib/errors';
import { formatTime } from '../../lib/format';
import { useWriteMode } from '../../lib/session';
import { useQuery } from '../../lib/useQuery';

export function KnexView() {
  const write = useWriteMode();
  const q = useQuery((op) => cmd.knexStatus(op), []);
  const [target, setTarget] = useState<KnexTable | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function unlock(k: KnexTable, confirm: string) {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const r = await cmd.knexUnlock(k.database, `${k.schema}.${k.lock_table ?? ''}`, confirm);
      setDone(
        r.released > 0
          ? `Released the lock ${r.table} in ${r.database}.`
          : `${r.table} in ${r.database} was not locked any more.`,
      );
      q.reload();
    } catch (err) {
      setError(toUiError(err));
    } finally {
      setBusy(false);
      setTarget(null);
    }
  }

  return (
    <div className="view" data-testid="knex">
      <div className="view-head">
        <h1>Knex migrations and locks</h1>
        <span className="spacer" />
        <button type="button" className="button" onClick={q.reload}>
          Refresh
        </button>
      </div>
      {q.status === 'loading' && <Progress label="Reading Knex tables" onCancel={q.cancel} />}
      {q.error && <ErrorBox error={q.error} onRetry={q.reload} />}
      {error && <ErrorBox error={error} />}
      {done && <div className="callout" data-testid="unlock-result">{done}</div>}
      {q.data && q.data.length === 0 && (
        <Empty title="No Knex migration tables">These databases are not managed by a real Backstage.</Empty>
      )}
      {q.data && q.data.length > 0 && (
        <table className="grid-table" data-testid="knex-table">
          <thead>
            <tr>
              <th>Database</th>
              <th>Table</th>
              <th className="num">Applied</th>
              <th>Newest</th>
              <th>Lock</th>
              <th className="num">Other sessions</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {q.data.map((k) => (
              <tr key={k.database + k.schema + k.table} data-testid="knex-row" className={k.locked ? 'selected' : ''}>
                <td className="mono">{k.database}</td>
                <td className="mono small">
                  {k.schema}.{k.table}
                </td>
                <td className="num">{String(k.applied)}</td>
                <td className="small">
                  {k.newest ?? '—'}
                  {k.newest_at && <div className="muted">{formatTime(k.newest_at)}</div>}
                </td>
                <td>
                  {k.lock_table === null ? (
                    <span className="muted">no lock table</span>
                  ) : k.locked ? (
                    <>
                      <span className="chip chip-bad">LOCK HELD</span>
                      {k.hint && <div className="small">{k.hint}</div>}
                    </>
                  ) : (
                    <span className="ok">free</span>
                  )}
                </td>
                <td className="num">{String(k.other_sessions)}</td>
                <td>
                  {k.lock_table !== null && (
                    <button
                      type="button"
                      className={k.locked ? 'button button-danger' : 'button'}
                      data-testid="knex-unlock"
                      disabled={busy}
                      title={write ? 'Release this lock' : 'Needs write mode for this profile'}
                      onClick={() => {
                        // In read-only mode the server refuses; show its answer rather than a dialog.
                        if (write) setTarget(k);
                        else void unlock(k, '');
                      }}
                    >
                      Unlock…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!write && <div className="muted small">Read-only profile: unlocking is refused until write mode is enabled in Connections.</div>}
      {target && (
        <ConfirmDialog
          title="Release the Knex lock"
          word={target.database}
          confirmLabel="Release lock"
          danger
          busy={busy}
          onClose={() => setTarget(null)}
          onConfirm={() => void unlock(target, target.database)}
        >
          <p>
            Sets <code>is_locked = 0</code> in{' '}
            <code>
              {target.schema}.{target.lock_table}
            </code>{' '}
            of <strong>{target.database}</strong>.
          </p>
          {target.other_sessions > 0 && (
            <div className="callout callout-warn">
              {String(target.other_sessions)} other sessions are connected to this database: a Backstage may be running
              its migrations right now. {target.hint}
            </div>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
