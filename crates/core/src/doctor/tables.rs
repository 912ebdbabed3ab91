//! Tables, from `pg_stat_user_tables` of every database of the installation: tables with many
//! dead tuples that (auto)vacuum has not cleared, and the size of the tables that grow without
//! bound in real installations (the catalog's `search`, `relations` and
//! `refresh_state_references`, the scaffolder's `task_events`, the events bus and
//! notifications).

use std::sync::Arc;

use sqlx::Row;

use super::{Finding, Out, Severity, Thresholds, plural};
use crate::connect::Connections;
use crate::discovery::{DatabaseInfo, Discovery};
use crate::error::Result;
use crate::refs::time::human_duration;
use crate::sql::{Param, Sql, age_secs, iso_text};

const AREA: &str = "tables";

/// Tables that grow in real installations: `(area, table)`.
const GROWING: [(&str, &str); 7] = [
    ("catalog", "search"),
    ("catalog", "relations"),
    ("catalog", "refresh_state_references"),
    ("scaffolder", "task_events"),
    ("events", "event_bus_events"),
    ("notifications", "notification"),
    ("notifications", "broadcast"),
];

struct Stat {
    place: String,
    plugin: Option<String>,
    table: String,
    live: i64,
    dead: i64,
    bytes: i64,
    size: String,
    vacuumed: Option<String>,
    vacuum_age: Option<i64>,
}

pub(super) async fn check(conns: &Arc<Connections>, d: &Discovery, t: &Thresholds) -> Out {
    let mut out = Out::default();
    let mut stats = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for db in d.databases.iter().filter(|db| db.error.is_none()) {
        if !seen.insert((db.database.clone(), db.schema.clone())) {
            continue;
        }
        match read(conns, db, t).await {
            Ok(s) => stats.extend(s),
            Err(e) => out.take(
                AREA,
                &format!("table statistics of {}", db.database),
                Err(e),
            ),
        }
    }
    let bloated: Vec<&Stat> = stats
        .iter()
        .filter(|s| {
            s.dead >= t.dead_tuples_min && s.dead * 100 >= t.dead_tuples_pct * (s.live + s.dead)
        })
        .collect();
    if bloated.is_empty() {
        if !stats.is_empty() {
            out.findings.push(
                Finding::new(
                    "tables.dead_tuples",
                    Severity::Ok,
                    AREA,
                    format!("No table holds {} or more dead tuples.", t.dead_tuples_min),
                )
                .count(0),
            );
        }
    } else {
        let n = bloated.len() as i64;
        let mut f = Finding::new(
            "tables.dead_tuples",
            Severity::Warning,
            AREA,
            format!(
                "{} mostly dead tuples that vacuum has not cleared: scans read them all.",
                plural(n, "table holds", "tables hold")
            ),
        )
        .count(n);
        for s in bloated.iter().take(5) {
            f = f.evidence(format!(
                "{}.{}: {} dead and {} live tuples, {}; last vacuum {}",
                s.place,
                s.table,
                s.dead,
                s.live,
                s.size,
                match (&s.vacuumed, s.vacuum_age) {
                    (Some(at), Some(age)) => format!("{at} ({} ago)", human_duration(age)),
                    _ => "never".to_string(),
                }
            ));
        }
        f = f
            .examples(bloated.iter().map(|s| format!("{}.{}", s.place, s.table)))
            .advice("check that autovacuum runs on these tables (autovacuum_enabled, long transactions holding the horizon back); VACUUM (ANALYZE) them as the table owner");
        if let Some(plugin) = bloated.first().and_then(|s| s.plugin.clone()) {
            f = f.next(
                "the tables of that database with sizes and row estimates",
                &["tables", "--area", &plugin],
            );
        }
        out.findings.push(f);
    }
    let mut growing: Vec<&Stat> = stats
        .iter()
        .filter(|s| {
            GROWING.iter().any(|(area, table)| {
                s.table == *table && s.plugin.as_deref().is_none_or(|p| p == *area)
            })
        })
        .collect();
    growing.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.table.cmp(&b.table)));
    if !growing.is_empty() {
        let mut f = Finding::new(
            "tables.growth",
            Severity::Info,
            AREA,
            format!(
                "The tables that grow in real installations: the largest is {}.{} with {}.",
                growing[0].place, growing[0].table, growing[0].size
            ),
        )
        .count(growing.len() as i64);
        for s in &growing {
            f = f.evidence(format!(
                "{}.{}: {}, about {} rows",
                s.place, s.table, s.size, s.live
            ));
        }
        f = f.next("every table with sizes and row estimates", &["tables"]);
        out.findings.push(f);
    }
    out
}

async fn read(conns: &Connections, db: &DatabaseInfo, t: &Thresholds) -> Result<Vec<Stat>> {
    let ep = crate::knex::endpoint_of(conns, db);
    let pool = conns.pool(&ep).await?;
    let schema = db.schema.clone().unwrap_or_else(|| "public".to_string());
    let mut sql = Sql::new();
    let s = sql.text(schema);
    let names = sql.bind(Param::TextArray(
        GROWING.iter().map(|(_, t)| t.to_string()).collect(),
    ));
    let min = sql.bind(Param::Int(t.dead_tuples_min));
    let last = "greatest(last_autovacuum, last_vacuum)";
    sql.text = format!(
        "SELECT relname::text AS tbl, n_live_tup AS live, n_dead_tup AS dead, \
                pg_total_relation_size(relid) AS bytes, pg_size_pretty(pg_total_relation_size(relid)) AS size, \
                {} AS vacuumed, {} AS vacuum_age \
         FROM pg_stat_user_tables \
         WHERE schemaname = {s} AND (relname = ANY({names}) OR n_dead_tup >= {min}) \
         ORDER BY relname",
        iso_text(last),
        age_secs(last)
    );
    let place = match &db.schema {
        Some(s) => format!("{}.{s}", db.database),
        None => db.database.clone(),
    };
    Ok(sql
        .fetch_all(&pool, &ep)
        .await?
        .iter()
        .map(|r| Stat {
            place: place.clone(),
            plugin: db.plugin.clone(),
            table: r.get("tbl"),
            live: r.get::<Option<i64>, _>("live").unwrap_or_default(),
            dead: r.get::<Option<i64>, _>("dead").unwrap_or_default(),
            bytes: r.get::<Option<i64>, _>("bytes").unwrap_or_default(),
            size: r.get::<Option<String>, _>("size").unwrap_or_default(),
            vacuumed: r.get("vacuumed"),
            vacuum_age: r.get("vacuum_age"),
        })
        .collect())
}
