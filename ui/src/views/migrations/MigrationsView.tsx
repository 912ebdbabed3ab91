// Our embedded migrations: status per area, the plan (SQL), and applying it after a
// confirmation naming the target databases and the profile. Databases made by Backstage's own
// migrations (Knex) have nothing of ours pending: the view says so and leads to the Knex view.
import { useState } from 'react';
import * as cmd from '../../commands';
import type { AppliedNow } from '../../bindings/AppliedNow';
import type { PlannedMigration } from '../../bindings/PlannedMigration';
import { ConfirmDialog } from '../../components/Dialog';
import { Progress } from '../../components/Progress';
import { Empty, ErrorBox } from '../../components/states';
import { toUiError, type UiError } from '../../lib/errors';
import { formatTime } from '../../lib/format';
import { useNav } from '../../lib/nav';
import { useSession, useWriteMode } from '../../lib/session';
import { useQuery } from '../../lib/useQuery';

export function MigrationsView() {
  const write = useWriteMode();
  const profile = useSession().status?.profile?.name ?? '';
  const status = useQuery((op) => cmd.migrationStatus([], op), []);
  const [plan, setPlan] = useState<PlannedMigration[] | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [createDbs, setCreateDbs] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [applied, setApplied] = useState<AppliedNow[] | null>(null);
  const nav = useNav();
  const pending = status.data?.reduce((n, a) => n + a.pending.length, 0) ?? 0;
  const managed = (status.data ?? []).filter((a) => a.backstage_managed);
  // A real installation: every database there is Backstage's own (or absent).
  const real = managed.length > 0 && (status.data ?? []).every((a) => a.backstage_managed || !a.database_exists);
  const targets = [...new Set((status.data ?? []).filter((a) => a.pending.length > 0).map((a) => `${a.database}${a.schema !== 'public' ? `.${a.schema}` : ''}`))];

  async function apply(word: string) {
    setBusy('apply');
    setError(null);
    try {
      setApplied(await cmd.applyMigrations([], createDbs, false, word));
      status.reload();
    } catch (err) {
      setError(toUiError(err));
    } finally {
      setBusy(null);
      setConfirm(false);
    }
  }

  return (
    <div className="view" data-testid="migrations">
      <div className="view-head">
        <h1>Migrations</h1>
        <span className="muted" data-testid="migrations-summary">
          {real ? 'managed by Backstage’s own migrations (Knex)' : `${pending} pending`}
        </span>
        <span className="spacer" />
        {!real && (
          <>
            <button
              type="button"
              className="button"
              disabled={busy !== null}
              onClick={async () => {
                setBusy('plan');
                setError(null);
                try {
                  setPlan(await cmd.migrationPlan([], null));
                } catch (err) {
                  setError(toUiError(err));
                } finally {
                  setBusy(null);
                }
              }}
            >
              Show plan
            </button>
            <label className="check">
              <input type="checkbox" checked={createDbs} onChange={(e) => setCreateDbs(e.target.checked)} /> create missing
              databases
            </label>
            <button
              type="button"
              className="button button-danger"
              data-testid="migrations-apply"
              disabled={busy !== null}
              title={write ? 'Apply the pending migrations' : 'Needs write mode for this profile'}
              onClick={() => {
                // In read-only mode the server refuses; show its answer rather than a dialog.
                if (write) setConfirm(true);
                else void apply('');
              }}
            >
              Apply…
            </button>
          </>
        )}
      </div>
      {managed.length > 0 && (
        <div className="callout" data-testid="backstage-managed">
          {managed.map((a) => `${a.database}${a.schema !== 'public' ? `.${a.schema}` : ''}`).join(', ')}{' '}
          {managed.length === 1 ? 'was' : 'were'} made by Backstage&apos;s own migrations (Knex): our migrations, which
          build a local Backstage-shaped database, have nothing to apply there. Their migration state and locks are in
          the Knex view.{' '}
          <button type="button" className="button-link" data-testid="open-knex" onClick={() => nav.navigate({ view: 'knex' })}>
            Open Knex
          </button>
        </div>
      )}
      {status.status === 'loading' && <Progress label="Reading migration state" onCancel={status.cancel} />}
      {status.error && <ErrorBox error={status.error} onRetry={status.reload} />}
      {busy === 'apply' && <Progress label="Applying migrations" delayMs={0} />}
      {error && <ErrorBox error={error} />}
      {applied && (
        <div className="callout" data-testid="applied">
          Applied {applied.length} migrations:
          {applied.map((a) => (
            <div key={a.area + a.version} className="small mono">
              {a.database} {a.area} {a.version} {a.name} · {a.statements} statements · {String(a.elapsed_ms)} ms
            </div>
          ))}
        </div>
      )}
      {status.data && status.data.length === 0 && <Empty title="No areas" />}
      {status.data && status.data.length > 0 && (
        <table className="grid-table" data-testid="migration-status">
          <thead>
            <tr>
              <th>Area</th>
              <th>Database</th>
              <th>State</th>
              <th className="num">Applied</th>
              <th>Pending</th>
            </tr>
          </thead>
          <tbody>
            {status.data.map((a) => {
              const changed = a.applied.filter((m) => !m.checksum_matches || !m.known);
              return (
                <tr key={a.area} data-testid="migration-row">
                  <td>{a.area}</td>
                  <td className="mono small">
                    {a.database}
                    {a.schema !== 'public' ? `.${a.schema}` : ''}
                  </td>
                  <td className="small">
                    {!a.database_exists ? (
                      <span className="warn">database missing</span>
                    ) : !a.schema_exists ? (
                      <span className="warn">schema missing</span>
                    ) : a.backstage_managed ? (
                      <span className="chip">Backstage&apos;s own (Knex)</span>
                    ) : a.knex_managed ? (
                      <span className="chip chip-warn">managed by Backstage (Knex): refused without force</span>
                    ) : (
                      'ok'
                    )}
                    {changed.length > 0 && (
                      <div className="bad">
                        changed since applied: {changed.map((m) => `${m.version} ${m.name}`).join(', ')}
                      </div>
                    )}
                  </td>
                  <td className="num" title={a.applied.map((m) => `${m.version} ${m.name} ${formatTime(m.applied_at)}`).join('\n')}>
                    {a.applied.length}
                  </td>
                  <td className="small">
                    {a.backstage_managed ? (
                      <span className="muted">see Knex</span>
                    ) : a.pending.length === 0 ? (
                      <span className="ok">up to date</span>
                    ) : a.pending.map((p) => `${p.version} ${p.name}`).join(', ')}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {plan && (
        <>
          <h3 className="sub">Plan · {plan.length} migrations</h3>
          {plan.length === 0 ? (
            <div className="ok small">Nothing to apply.</div>
          ) : (
            plan.map((m) => (
              <details key={m.area + m.version} className="card">
                <summary className="mono small">
                  {m.database} · {m.area} {m.version} {m.name}
                </summary>
                <pre className="code">{m.sql}</pre>
              </details>
            ))
          )}
        </>
      )}
      {confirm && (
        <ConfirmDialog
          title="Apply migrations"
          word={profile}
          confirmLabel={`Apply ${pending} migrations`}
          danger
          busy={busy === 'apply'}
          onClose={() => setConfirm(false)}
          onConfirm={() => void apply(profile)}
        >
          <p>
            Applies {pending} pending migrations, each in its own transaction, to{' '}
            {targets.length ? targets.map((t) => <code key={t}>{t} </code>) : 'the profile’s databases'} on profile{' '}
            <strong>{profile}</strong>.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
