//! Connections, from `pg_stat_activity`: how many are in use against `max_connections` (less
//! the superuser reserve) and against the role's `CONNECTION LIMIT`, by `application_name`
//! (Backstage names each plugin's pool `backstage_plugin_<pluginId>`), and, in this
//! installation's databases, sessions idle in a transaction, long-running queries and
//! sessions waiting for a lock. Without `pg_read_all_stats` the states of other roles'
//! sessions are hidden by the server; the counts still hold.

use std::sync::Arc;

use sqlx::Row;

use super::{Finding, Out, Severity, Thresholds, plural};
use crate::connect::{Connections, Endpoint, PgPool};
use crate::discovery::Discovery;
use crate::error::Result;
use crate::refs::time::human_duration;
use crate::sql::{Param, Sql, age_secs};

const AREA: &str = "connections";

pub(super) async fn check(conns: &Arc<Connections>, d: &Discovery, t: &Thresholds) -> Out {
    let mut out = Out::default();
    let ep = conns.endpoint(conns.profile().maintenance_database());
    let pool = match conns.pool(&ep).await {
        Ok(p) => p,
        Err(e) => {
            out.take(AREA, "connections", Err(e));
            return out;
        }
    };
    let mut dbs: Vec<String> = d.databases.iter().map(|db| db.database.clone()).collect();
    dbs.sort();
    dbs.dedup();
    let a = Activity {
        pool: &pool,
        ep: &ep,
        dbs: &dbs,
    };
    out.take(AREA, "connections in use", a.pressure(t).await);
    out.take(
        AREA,
        "sessions idle in a transaction",
        a.sessions(
            "connections.idle_in_transaction",
            "state IN ('idle in transaction', 'idle in transaction (aborted)')",
            "state_change",
            t.idle_in_transaction_secs,
        )
        .await,
    );
    out.take(
        AREA,
        "long-running queries",
        a.sessions(
            "connections.long_query",
            "state = 'active'",
            "query_start",
            t.long_query_secs,
        )
        .await,
    );
    out.take(AREA, "lock waits", a.lock_waits().await);
    out
}

struct Activity<'a> {
    pool: &'a PgPool,
    ep: &'a Endpoint,
    dbs: &'a [String],
}

/// `application_name` as the evidence shows it.
const APP: &str = "coalesce(nullif(application_name, ''), '(no application_name)')";

impl Activity<'_> {
    async fn pressure(&self, t: &Thresholds) -> Result<Vec<Finding>> {
        let sql = Sql {
            text: "SELECT current_setting('max_connections')::bigint AS max, \
                          current_setting('superuser_reserved_connections')::bigint AS reserved, \
                          (SELECT rolconnlimit::bigint FROM pg_roles WHERE rolname = current_user) AS role_limit, \
                          current_user::text AS role, \
                          (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used, \
                          (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename = current_user) AS mine"
                .to_string(),
            ..Sql::default()
        };
        let rows = sql.fetch_all(self.pool, self.ep).await?;
        let Some(r) = rows.first() else {
            return Ok(Vec::new());
        };
        let (max, reserved, used, mine): (i64, i64, i64, i64) = (
            r.get("max"),
            r.get("reserved"),
            r.get("used"),
            r.get("mine"),
        );
        let role: String = r.get("role");
        let role_limit: Option<i64> = r.get("role_limit");
        let by_app = Sql {
            text: format!(
                "SELECT {APP} AS app, coalesce(datname::text, '') AS db, count(*) AS n, \
                        count(*) FILTER (WHERE state = 'active') AS active, \
                        count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_tx \
                 FROM pg_stat_activity WHERE backend_type = 'client backend' \
                 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 20"
            ),
            ..Sql::default()
        };
        let apps: Vec<String> = by_app
            .fetch_all(self.pool, self.ep)
            .await?
            .iter()
            .map(|r| {
                format!(
                    "{} on {}: {} ({} active, {} idle in transaction)",
                    r.get::<String, _>("app"),
                    r.get::<String, _>("db"),
                    r.get::<i64, _>("n"),
                    r.get::<i64, _>("active"),
                    r.get::<i64, _>("idle_tx")
                )
            })
            .collect();
        let available = (max - reserved).max(1);
        let pct = used * 100 / available;
        let role_pct = role_limit.filter(|l| *l > 0).map(|l| mine * 100 / l);
        let sev = |p: i64| {
            if p >= t.connections_critical_pct {
                Severity::Critical
            } else if p >= t.connections_warning_pct {
                Severity::Warning
            } else {
                Severity::Ok
            }
        };
        let worst = sev(pct).min(role_pct.map_or(Severity::Ok, sev));
        let server_line = format!(
            "{used} of {available} connections in use on the server ({pct}%; max_connections {max}, {reserved} reserved for superusers)"
        );
        let role_line = match (role_limit, role_pct) {
            (Some(l), Some(p)) => {
                format!("role {role}: {mine} of its CONNECTION LIMIT {l} ({p}%)")
            }
            _ => format!("role {role}: {mine} connections, no CONNECTION LIMIT"),
        };
        let title = if worst == Severity::Ok {
            format!("Connections are not short: {used} of {available} in use ({pct}%).")
        } else if role_pct.is_some_and(|p| sev(p) == worst && p >= pct) {
            format!(
                "The role {role} is near its connection limit: {mine} of {} in use; Backstage's pools will wait or fail to connect.",
                role_limit.unwrap_or_default()
            )
        } else {
            format!(
                "The server is near its connection limit: {used} of {available} in use ({pct}%); Backstage's pools will wait or fail to connect."
            )
        };
        let mut f = Finding::new("connections.pressure", worst, AREA, title)
            .count(used)
            .evidence(server_line)
            .evidence(role_line);
        for a in &apps {
            f = f.evidence(a.clone());
        }
        if worst != Severity::Ok {
            f = f.advice(
                "lower backend.database.knexConfig.pool.max (each plugin has its own pool, \
                 named backstage_plugin_<id> in pg_stat_activity), or raise max_connections or the role's limit",
            );
        }
        Ok(vec![f])
    }

    /// Sessions in this installation's databases matching `cond` whose `since` is older than
    /// `secs`, other than ours.
    async fn sessions(&self, id: &str, cond: &str, since: &str, secs: i64) -> Result<Vec<Finding>> {
        let mut sql = Sql::new();
        let dbs = sql.bind(Param::TextArray(self.dbs.to_vec()));
        let me = sql.text(crate::PRODUCT_NAME);
        let p = sql.bind(Param::Int(secs));
        sql.text = format!(
            "SELECT pid::bigint AS pid, datname::text AS db, {APP} AS app, {} AS secs \
             FROM pg_stat_activity \
             WHERE backend_type = 'client backend' AND datname = ANY({dbs}) AND pid <> pg_backend_pid() \
               AND coalesce(application_name, '') <> {me} AND {cond} \
               AND {since} < now() - make_interval(secs => {p}) \
             ORDER BY {since}, pid",
            age_secs(since)
        );
        let rows = sql.fetch_all(self.pool, self.ep).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let n = rows.len() as i64;
        let what = if id.ends_with("idle_in_transaction") {
            format!(
                "{} idle in a transaction for more than {}: {} locks and a pooled connection.",
                plural(n, "session has been", "sessions have been"),
                human_duration(secs),
                if n == 1 {
                    "it holds its"
                } else {
                    "they hold their"
                }
            )
        } else {
            format!(
                "{} running for more than {}.",
                plural(n, "query has been", "queries have been"),
                human_duration(secs)
            )
        };
        let mut f = Finding::new(id, Severity::Warning, AREA, what).count(n);
        let mut examples = Vec::new();
        for r in &rows {
            let line = format!(
                "pid {} on {} ({}): {}",
                r.get::<i64, _>("pid"),
                r.get::<String, _>("db"),
                r.get::<String, _>("app"),
                human_duration(r.get::<Option<i64>, _>("secs").unwrap_or_default())
            );
            if examples.len() < 5 {
                f = f.evidence(line.clone());
            }
            examples.push(line);
        }
        Ok(vec![f.examples(examples).advice(
            "find the application behind these pids; pg_terminate_backend(pid) ends one (as a role allowed to)",
        )])
    }

    async fn lock_waits(&self) -> Result<Vec<Finding>> {
        let mut sql = Sql::new();
        let dbs = sql.bind(Param::TextArray(self.dbs.to_vec()));
        sql.text = format!(
            "SELECT pid::bigint AS pid, datname::text AS db, {APP} AS app, {} AS secs, \
                    array_to_string(pg_blocking_pids(pid), ',') AS blockers \
             FROM pg_stat_activity \
             WHERE datname = ANY({dbs}) AND wait_event_type = 'Lock' ORDER BY query_start, pid",
            age_secs("query_start")
        );
        let rows = sql.fetch_all(self.pool, self.ep).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let n = rows.len() as i64;
        let lines: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "pid {} on {} ({}) waits {} for pid(s) {}",
                    r.get::<i64, _>("pid"),
                    r.get::<String, _>("db"),
                    r.get::<String, _>("app"),
                    human_duration(r.get::<Option<i64>, _>("secs").unwrap_or_default()),
                    r.get::<Option<String>, _>("blockers").unwrap_or_default()
                )
            })
            .collect();
        let mut f = Finding::new(
            "connections.lock_waits",
            Severity::Warning,
            AREA,
            format!(
                "{} waiting for a lock another session holds.",
                plural(n, "session is", "sessions are")
            ),
        )
        .count(n);
        for l in lines.iter().take(5) {
            f = f.evidence(l.clone());
        }
        Ok(vec![f.examples(lines).advice(
            "look at the blocking pids in pg_stat_activity: a session idle in a transaction is the usual holder",
        )])
    }
}
