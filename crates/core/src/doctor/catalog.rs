//! The catalog's health: is processing running (entities overdue for refresh), is stitching
//! keeping up (the stitch queue, processed entities without a stitched result), and what the
//! trouble lists hold (processing errors grouped by cause, orphans, broken references,
//! failing locations). The lists are read through [`Catalog`] and the counts through
//! [`crate::overview::counts`]; only the aggregates no view has are built here.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::Row;

use super::{Finding, Out, Severity, Thresholds, missing, plural};
use crate::catalog::{Catalog, ListQuery, stitched};
use crate::connect::{Connections, PgPool, map_query_error};
use crate::error::Result;
use crate::graph::{BrokenRefsOptions, broken_refs};
use crate::refs::time::human_duration;
use crate::schema::DbSchema;
use crate::sql::{Param, Sql, age_secs, iso_text, qualified};

const AREA: &str = "catalog";
/// The most errored entities read to group their errors by cause.
const ERRORS_READ: usize = 5000;

pub(super) async fn check(conns: &Arc<Connections>, t: &Thresholds) -> Out {
    let mut out = Out::default();
    let place = match crate::area::locate(conns, AREA) {
        Ok(p) => p,
        Err(e) => {
            out.take(AREA, "catalog", Err(e));
            return out;
        }
    };
    let opened = place.open(conns).await;
    let (pool, db) = match opened {
        Ok(x) => x,
        Err(e) => {
            out.take(AREA, "catalog", Err(e));
            return out;
        }
    };
    let ep = place.endpoint.clone();
    let run = Db {
        pool: &pool,
        db: &db,
        ep: &ep,
    };
    out.take(
        AREA,
        "catalog processing",
        run.processing_stalled(t.refresh_overdue_secs).await,
    );
    out.take(
        AREA,
        "stitching backlog",
        run.stitch_backlog(t.stitch_lag_secs).await,
    );
    out.take(AREA, "processed but not stitched", run.unstitched().await);
    let counts = crate::overview::counts(conns).await;
    match Catalog::open(conns).await {
        Ok(cat) => {
            out.take(
                AREA,
                "processing errors",
                errors(&cat, counts.processing_errors.value).await,
            );
            out.take(AREA, "orphans", orphans(&cat, counts.orphans.value).await);
            out.take(AREA, "failing locations", locations(&cat).await);
        }
        Err(e) => out.take(AREA, "catalog lists", Err(e)),
    }
    out.take(AREA, "broken references", broken(conns).await);
    out
}

/// The catalog's database, schema and endpoint, for the aggregates built here.
struct Db<'a> {
    pool: &'a PgPool,
    db: &'a DbSchema,
    ep: &'a crate::connect::Endpoint,
}

impl Db<'_> {
    fn t(&self, table: &str) -> String {
        qualified(&self.db.schema, table)
    }

    async fn rows(&self, sql: &Sql) -> Result<Vec<sqlx::postgres::PgRow>> {
        sql.query()
            .fetch_all(self.pool)
            .await
            .map_err(|e| map_query_error(e, self.ep))
    }

    /// Entities overdue for refresh: all of them (processing stopped) or some (behind).
    async fn processing_stalled(&self, overdue: i64) -> Result<Vec<Finding>> {
        if !self.db.has_column("refresh_state", "next_update_at") {
            return Err(missing(
                "catalog processing",
                "refresh_state.next_update_at does not exist",
            ));
        }
        let rs = self.t("refresh_state");
        let mut sql = Sql::new();
        let p = sql.bind(Param::Int(overdue));
        sql.text = format!(
            "SELECT count(*) AS total, \
                    count(*) FILTER (WHERE next_update_at < now() - make_interval(secs => {p})) AS overdue, \
                    {} AS worst_secs, {} AS newest_secs, {} AS newest_at \
             FROM {rs}",
            age_secs("min(next_update_at)"),
            age_secs("max(next_update_at)"),
            iso_text("max(next_update_at)"),
        );
        let r = self.rows(&sql).await?;
        let Some(r) = r.first() else {
            return Ok(Vec::new());
        };
        let total: i64 = r.get("total");
        let n: i64 = r.get("overdue");
        let worst: Option<i64> = r.get("worst_secs");
        let newest: Option<i64> = r.get("newest_secs");
        let newest_at: Option<String> = r.get("newest_at");
        let id = "catalog.processing_stalled";
        if total == 0 || n == 0 {
            return Ok(vec![
                Finding::new(
                    id,
                    Severity::Ok,
                    AREA,
                    format!(
                        "Catalog processing is keeping up: no entity is overdue for refresh by more than {}.",
                        human_duration(overdue)
                    ),
                )
                .count(0),
            ]);
        }
        let mut ex = Sql::new();
        let p = ex.bind(Param::Int(overdue));
        ex.text = format!(
            "SELECT entity_ref::text AS r FROM {rs} \
             WHERE next_update_at < now() - make_interval(secs => {p}) \
             ORDER BY next_update_at, entity_ref LIMIT {}",
            super::MAX_EXAMPLES
        );
        let examples: Vec<String> = self
            .rows(&ex)
            .await?
            .iter()
            .map(|r| r.get::<String, _>("r"))
            .collect();
        let all = n == total;
        let title = if all {
            format!(
                "Catalog processing has stopped: all {} are overdue for refresh, the freshest by {}.",
                plural(total, "entity", "entities"),
                human_duration(newest.unwrap_or_default())
            )
        } else {
            format!(
                "Catalog processing is behind: {n} of {} are overdue for refresh by more than {}.",
                plural(total, "entity", "entities"),
                human_duration(overdue)
            )
        };
        let mut f = Finding::new(
            id,
            if all {
                Severity::Critical
            } else {
                Severity::Warning
            },
            AREA,
            title,
        )
        .count(n)
        .evidence(format!(
            "{n} of {total} refresh_state rows have next_update_at more than {} ago",
            human_duration(overdue)
        ))
        .evidence(format!(
            "the most overdue by {}; the latest refresh due at {} ({} ago)",
            human_duration(worst.unwrap_or_default()),
            newest_at.unwrap_or_default(),
            human_duration(newest.unwrap_or_default())
        ));
        if self.db.has_column("final_entities", "last_updated_at") {
            let sql = Sql {
                text: format!(
                    "SELECT {} AS at, {} AS ago FROM {}",
                    iso_text("max(last_updated_at)"),
                    age_secs("max(last_updated_at)"),
                    self.t("final_entities")
                ),
                ..Sql::default()
            };
            if let Some(r) = self.rows(&sql).await?.first()
                && let Some(at) = r.get::<Option<String>, _>("at")
            {
                f = f.evidence(format!(
                    "the last stitched change at {at} ({} ago)",
                    human_duration(r.get::<Option<i64>, _>("ago").unwrap_or_default())
                ));
            }
        }
        if all {
            f = f.advice(
                "check that a catalog backend is running and connected to this database: its \
                 processing loop sets next_update_at every 100-150 s by default",
            );
        }
        let older = format!("{}s", overdue);
        Ok(vec![
            f.examples(examples)
                .next("the overdue entities", &["stale", "--older-than", &older])
                .next("entities whose processing fails", &["errors"]),
        ])
    }

    /// Stitches waiting past their time: `stitch_queue` (catalogs since 2026), else
    /// `refresh_state.next_stitch_at`.
    async fn stitch_backlog(&self, lag: i64) -> Result<Vec<Finding>> {
        let (table, col) = if self.db.has_column("stitch_queue", "next_stitch_at") {
            ("stitch_queue", "next_stitch_at")
        } else if self.db.has_column("refresh_state", "next_stitch_at") {
            ("refresh_state", "next_stitch_at")
        } else {
            return Err(missing(
                "stitching backlog",
                "neither stitch_queue nor refresh_state.next_stitch_at exists (stitching was immediate in this catalog)",
            ));
        };
        let mut sql = Sql::new();
        let p = sql.bind(Param::Int(lag));
        let t = self.t(table);
        sql.text = format!(
            "SELECT count(*) FILTER (WHERE {col} < now() - make_interval(secs => {p})) AS late, \
                    count({col}) AS queued, {} AS oldest FROM {t}",
            age_secs(&format!("min({col})"))
        );
        let rows = self.rows(&sql).await?;
        let Some(r) = rows.first() else {
            return Ok(Vec::new());
        };
        let late: i64 = r.get("late");
        let queued: i64 = r.get("queued");
        let id = "catalog.stitch_backlog";
        if late == 0 {
            return Ok(vec![
                Finding::new(
                    id,
                    Severity::Ok,
                    AREA,
                    format!(
                        "Stitching keeps up: no stitch waits longer than {}.",
                        human_duration(lag)
                    ),
                )
                .count(0)
                .evidence(format!("{queued} queued in {table}")),
            ]);
        }
        let mut ex = Sql::new();
        let p = ex.bind(Param::Int(lag));
        ex.text = format!(
            "SELECT entity_ref::text AS r FROM {t} WHERE {col} < now() - make_interval(secs => {p}) \
             ORDER BY {col} LIMIT {}",
            super::MAX_EXAMPLES
        );
        let examples = self
            .rows(&ex)
            .await?
            .iter()
            .map(|r| r.get::<String, _>("r"))
            .collect::<Vec<_>>();
        Ok(vec![
            Finding::new(
                id,
                Severity::Warning,
                AREA,
                format!(
                    "Stitching is behind: {} waited longer than {} for their stitched result.",
                    plural(late, "entity has", "entities have"),
                    human_duration(lag)
                ),
            )
            .count(late)
            .evidence(format!(
                "{late} of {queued} rows of {table} are due for more than {}; the oldest for {}",
                human_duration(lag),
                human_duration(r.get::<Option<i64>, _>("oldest").unwrap_or_default())
            ))
            .examples(examples)
            .next(
                "the queue",
                &["table", table, "--area", AREA, "--sort", col],
            ),
        ])
    }

    /// Entities processed without errors that have no stitched entity: the stitched result
    /// lags their processing.
    async fn unstitched(&self) -> Result<Vec<Finding>> {
        let Some(fe) = stitched(self.db) else {
            return Err(missing(
                "processed but not stitched",
                "final_entities cannot be read with its refs in this catalog",
            ));
        };
        for c in ["entity_ref", "errors", "processed_entity"] {
            if !self.db.has_column("refresh_state", c) {
                return Err(missing(
                    "processed but not stitched",
                    format!("refresh_state.{c} does not exist"),
                ));
            }
        }
        let sql = Sql {
            text: format!(
                "SELECT rs.entity_ref::text AS r, count(*) OVER () AS n FROM {} rs \
                 WHERE rs.errors = '[]' AND rs.processed_entity IS NOT NULL \
                   AND NOT EXISTS (SELECT 1 FROM {fe} f WHERE f.entity_ref = rs.entity_ref AND f.final_entity IS NOT NULL) \
                 ORDER BY rs.entity_ref LIMIT {}",
                self.t("refresh_state"),
                super::MAX_EXAMPLES
            ),
            ..Sql::default()
        };
        let rows = self.rows(&sql).await?;
        let n: i64 = rows.first().map(|r| r.get("n")).unwrap_or(0);
        if n == 0 {
            return Ok(Vec::new());
        }
        let examples: Vec<String> = rows.iter().map(|r| r.get("r")).collect();
        let first = examples.first().cloned().unwrap_or_default();
        Ok(vec![
            Finding::new(
                "catalog.unstitched",
                Severity::Warning,
                AREA,
                format!(
                    "{} processed without errors but not in the catalog: their stitched result lags their processing.",
                    plural(n, "entity was", "entities were")
                ),
            )
            .count(n)
            .evidence("refresh_state has a processed entity and no errors; final_entities has no entity for it")
            .examples(examples)
            .next("the processing state of the first", &["entity", &first]),
        ])
    }
}

/// Processing errors grouped by cause (the error's name), with a message and example refs.
async fn errors(cat: &Catalog, total: Option<i64>) -> Result<Vec<Finding>> {
    let mut groups: BTreeMap<String, (i64, String, Vec<String>)> = BTreeMap::new();
    let mut q = ListQuery {
        limit: Some(1000),
        cursor: None,
    };
    let mut read = 0usize;
    loop {
        let page = cat.errors(&q).await?;
        read += page.items.len();
        for e in &page.items {
            let first = e.errors.first();
            let name = first.map_or("Error", |x| x.name.as_str()).to_string();
            let g = groups.entry(name).or_insert_with(|| {
                let msg = first.map(|x| x.message.clone()).unwrap_or_default();
                (0, msg, Vec::new())
            });
            g.0 += 1;
            if g.2.len() < 3 {
                g.2.push(e.entity_ref.clone());
            }
        }
        match page.next_cursor {
            Some(c) if read < ERRORS_READ => q.cursor = Some(c),
            _ => break,
        }
    }
    let n = total.unwrap_or(read as i64).max(read as i64);
    if n == 0 {
        return Ok(vec![
            Finding::new(
                "catalog.processing_errors",
                Severity::Ok,
                AREA,
                "No entity fails processing.",
            )
            .count(0),
        ]);
    }
    let mut ranked: Vec<_> = groups.into_iter().collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let causes = ranked
        .iter()
        .map(|(name, (c, _, _))| format!("{c} {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut f = Finding::new(
        "catalog.processing_errors",
        Severity::Warning,
        AREA,
        format!(
            "{} processing: {causes}.",
            plural(n, "entity fails", "entities fail")
        ),
    )
    .count(n);
    for (name, (c, msg, refs)) in &ranked {
        let msg: String = msg
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(160)
            .collect();
        f = f.evidence(format!("{name} ×{c}: {msg} (e.g. {})", refs.join(", ")));
    }
    if read as i64 > 0 && (read as i64) < n {
        f = f.evidence(format!("grouped from the first {read} of them"));
    }
    let examples: Vec<String> = ranked
        .iter()
        .flat_map(|(_, (_, _, r))| r.iter().cloned())
        .collect();
    let first = examples.first().cloned().unwrap_or_default();
    Ok(vec![
        f.examples(examples)
            .next("every entity whose processing fails", &["errors"])
            .next("the first one's processing state", &["entity", &first]),
    ])
}

async fn orphans(cat: &Catalog, total: Option<i64>) -> Result<Vec<Finding>> {
    let page = cat
        .orphans(&ListQuery {
            limit: Some(super::MAX_EXAMPLES),
            cursor: None,
        })
        .await?;
    let n = total.unwrap_or(page.items.len() as i64);
    if n == 0 {
        return Ok(vec![
            Finding::new("catalog.orphans", Severity::Ok, AREA, "No orphaned entity.").count(0),
        ]);
    }
    Ok(vec![
        Finding::new(
            "catalog.orphans",
            Severity::Info,
            AREA,
            format!(
                "{} no longer emitted by any location or provider (orphaned).",
                plural(n, "entity is", "entities are")
            ),
        )
        .count(n)
        .evidence("no refresh_state_references row targets them, or they carry backstage.io/orphan")
        .examples(page.items.into_iter().map(|o| o.entity_ref))
        .next("the orphans", &["orphans"]),
    ])
}

async fn locations(cat: &Catalog) -> Result<Vec<Finding>> {
    let mut q = ListQuery {
        limit: Some(1000),
        cursor: None,
    };
    let (mut total, mut failing) = (0i64, Vec::new());
    for _ in 0..5 {
        let page = cat.locations(&q).await?;
        total += page.items.len() as i64;
        failing.extend(
            page.items
                .into_iter()
                .filter(|l| l.status.as_deref() == Some("fail")),
        );
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    if failing.is_empty() {
        return Ok(Vec::new());
    }
    let n = failing.len() as i64;
    let mut f = Finding::new(
        "catalog.locations_failing",
        Severity::Warning,
        AREA,
        format!(
            "{} of {total} registered locations failed their latest update.",
            n
        ),
    )
    .count(n);
    for l in failing.iter().take(3) {
        let msg: String = l
            .message
            .clone()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(160)
            .collect();
        f = f.evidence(format!(
            "{} at {}: {msg}",
            l.target,
            l.status_at.clone().unwrap_or_default()
        ));
    }
    Ok(vec![
        f.examples(failing.into_iter().map(|l| l.target))
            .next("the locations and their status", &["locations"]),
    ])
}

async fn broken(conns: &Connections) -> Result<Vec<Finding>> {
    let page = broken_refs(
        conns,
        &BrokenRefsOptions {
            limit: Some(100),
            cursor: None,
            samples: 1,
        },
    )
    .await?;
    if page.items.is_empty() {
        return Ok(vec![
            Finding::new(
                "catalog.broken_refs",
                Severity::Ok,
                AREA,
                "Every relation points at an entity of the catalog.",
            )
            .count(0),
        ]);
    }
    let n = page.items.len() as i64;
    let more = if page.next_cursor.is_some() { "+" } else { "" };
    let relations: i64 = page.items.iter().map(|b| b.count).sum();
    Ok(vec![
        Finding::new(
            "catalog.broken_refs",
            Severity::Info,
            AREA,
            format!(
                "{n}{more} missing {} named by relations of the catalog (broken references).",
                if n == 1 { "entity is" } else { "entities are" }
            ),
        )
        .count(n)
        .evidence(format!("{relations}{more} relations point at them"))
        .examples(page.items.into_iter().map(|b| b.target))
        .next("the missing targets and who names them", &["broken-refs"]),
    ])
}
