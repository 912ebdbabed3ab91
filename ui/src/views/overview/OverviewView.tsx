import { Empty, ErrorBox, Loading } from '../../components/states';
import { formatBytes } from '../../lib/format';
import { useSession } from '../../lib/session';

export function OverviewView() {
  const { status, error, loading, reload } = useSession();
  if (error) return <ErrorBox error={error} onRetry={reload} />;
  if (!status) return loading ? <Loading what="status" /> : null;
  return (
    <div className="view">
      <div className="view-head">
        <h1>Overview</h1>
        <span className="muted">
          server <span className="mono" data-testid="server-version">{status.server_version ?? '—'}</span>
        </span>
      </div>
      {status.error && <ErrorBox error={status.error} onRetry={reload} />}
      {status.profile === null ? (
        <Empty title="No profile selected">
          Add one in Connections, or start with <code>bsi demo</code>.
        </Empty>
      ) : (
        <table className="grid-table">
          <thead>
            <tr>
              <th>Database</th>
              <th>Areas</th>
              <th className="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {status.databases.map((db) => (
              <tr key={db.name} data-testid="database-row">
                <td className="mono">{db.name}</td>
                <td>
                  {db.areas.map((a) => (
                    <span key={a} className="chip">
                      {a}
                    </span>
                  ))}
                </td>
                <td className="num">{formatBytes(db.size_bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
