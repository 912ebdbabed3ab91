//! Backstage recipes: the queries operators run by hand today, named, described and with
//! parameters, run through the console (read-only, masked, cancellable like any script).
//!
//! Each recipe says what its SQL needs ([`Need`]: tables and columns, with the migration that
//! adds them) and the Backstage releases it was checked on: the real-Backstage fixtures of
//! `tests/fixtures/backstage` (`crates/core/tests/console_recipes.rs` runs every recipe on every
//! era and checks that it works exactly where it says). On a database that lacks what it
//! needs, a recipe fails as `schema_degraded`, naming the missing table and its migration.
//!
//! Parameters are substituted as SQL literals: text as an escaped string (`E'...'`), numbers
//! checked against their range, so a value never becomes SQL.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ConsoleRun, RunOptions, run};
use crate::connect::Connections;
use crate::error::{CoreError, Result};
use crate::schema::{DbSchema, Need};
use crate::tables::{Target, scopes};

/// What a parameter takes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ParamKind {
    /// Any text; empty means "no filter" where the recipe says so.
    Text,
    /// A whole number from `min` to `max`.
    Number { min: i64, max: i64 },
}

/// A recipe's parameter.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Param {
    pub name: &'static str,
    pub description: &'static str,
    #[serde(flatten)]
    pub kind: ParamKind,
    pub default: &'static str,
}

/// A named query.
#[derive(Debug, Clone, Copy)]
pub struct Recipe {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// The plugin area it runs in unless a database or area is chosen.
    pub area: &'static str,
    /// It reads tables every plugin database may hold (Knex, the scheduler): any database can
    /// be chosen.
    pub any_database: bool,
    pub needs: &'static [Need],
    pub params: &'static [Param],
    /// The SQL, `{name}` standing for each parameter.
    pub sql: &'static str,
    /// The Backstage releases it works on, from the migrations of what it needs.
    pub works_on: &'static str,
    /// The fixture eras it was checked on (`2022-08`, `2023-10`, `current`).
    pub checked_on: &'static [&'static str],
}

/// A recipe as the app and `bsi sql --recipes` show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecipeInfo {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub area: &'static str,
    pub any_database: bool,
    pub params: Vec<Param>,
    pub sql: &'static str,
    pub works_on: &'static str,
    pub checked_on: Vec<&'static str>,
}

impl Recipe {
    pub fn info(&self) -> RecipeInfo {
        RecipeInfo {
            id: self.id,
            title: self.title,
            description: self.description,
            area: self.area,
            any_database: self.any_database,
            params: self.params.to_vec(),
            sql: self.sql,
            works_on: self.works_on,
            checked_on: self.checked_on.to_vec(),
        }
    }

    /// The SQL with `values` (by parameter name; defaults for the rest) in place.
    pub fn sql_with(&self, values: &BTreeMap<String, String>) -> Result<String> {
        if let Some(unknown) = values
            .keys()
            .find(|k| !self.params.iter().any(|p| p.name == k.as_str()))
        {
            return Err(CoreError::config(format!(
                "recipe `{}` has no parameter `{unknown}`; its parameters: {}",
                self.id,
                self.param_list()
            )));
        }
        let mut sql = self.sql.to_string();
        for p in self.params {
            let value = values.get(p.name).map_or(p.default, String::as_str);
            let literal = match p.kind {
                ParamKind::Text => text_literal(value)?,
                ParamKind::Number { min, max } => match value.trim().parse::<i64>() {
                    Ok(n) if (min..=max).contains(&n) => n.to_string(),
                    _ => {
                        return Err(CoreError::config(format!(
                            "parameter `{}` of recipe `{}` takes a whole number from {min} to \
                             {max}, not `{value}`",
                            p.name, self.id
                        )));
                    }
                },
            };
            sql = sql.replace(&format!("{{{}}}", p.name), &literal);
        }
        Ok(sql)
    }

    fn param_list(&self) -> String {
        if self.params.is_empty() {
            return "none".to_string();
        }
        self.params
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `s` as an escape string literal: backslashes and quotes escaped, so its meaning does not
/// depend on `standard_conforming_strings`.
fn text_literal(s: &str) -> Result<String> {
    if s.contains('\0') {
        return Err(CoreError::config(
            "a parameter value cannot hold a NUL character",
        ));
    }
    Ok(format!(
        "E'{}'",
        s.replace('\\', "\\\\").replace('\'', "''")
    ))
}

/// The recipe `id`.
pub fn find(id: &str) -> Result<&'static Recipe> {
    RECIPES.iter().find(|r| r.id == id).ok_or_else(|| {
        CoreError::config(format!(
            "no recipe `{id}`; the recipes: {}",
            RECIPES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// Every recipe, for listing.
pub fn list() -> Vec<RecipeInfo> {
    RECIPES.iter().map(Recipe::info).collect()
}

/// Runs recipe `id` with `values` on `target` (the recipe's own area when `Anywhere`), after
/// checking that the database has what it needs.
pub async fn run_recipe(
    conns: &Connections,
    target: &Target,
    id: &str,
    values: &BTreeMap<String, String>,
    opts: &RunOptions,
) -> Result<ConsoleRun> {
    let recipe = find(id)?;
    let sql = recipe.sql_with(values)?;
    let target = match target {
        Target::Anywhere => Target::Area {
            area: recipe.area.to_string(),
        },
        t => t.clone(),
    };
    let scope = scopes(conns, &target)?
        .into_iter()
        .next()
        .ok_or_else(|| CoreError::config("no database chosen"))?;
    let pool = conns.pool(&scope.endpoint).await?;
    let schema = DbSchema::read(&pool, &scope.endpoint, &scope.schema).await?;
    schema.check(&format!("recipe {}", recipe.id), recipe.needs)?;
    // A recipe never writes, whatever the profile allows.
    let opts = RunOptions {
        confirm: None,
        commit: false,
        ..opts.clone()
    };
    run(conns, &target, &sql, &opts).await
}

const REFRESH_STATE: &str = "catalog-backend migration 20210302150147_refresh_state (0.21.5)";
const TASKS: &str = "scaffolder-backend's first migration, 20210120143715_init";
const SCHEDULER: &str = "the scheduler's first migration, 20210928160613_init (backend-tasks 0.3.3, now backend-defaults)";
const ALL_ERAS: &[&str] = &["2022-08", "2023-10", "current"];

const LIMIT: Param = Param {
    name: "limit",
    description: "rows at most",
    kind: ParamKind::Number {
        min: 1,
        max: 100_000,
    },
    default: "100",
};

/// The recipes.
pub static RECIPES: &[Recipe] = &[
    Recipe {
        id: "entities-with-errors",
        title: "Entities whose processing failed",
        description: "Entities of the processing loop whose last processing ended in errors \
                      (refresh_state.errors), with the first error's message. They are missing \
                      from the catalog or stale until the error is fixed.",
        area: "catalog",
        any_database: false,
        needs: &[Need {
            table: "refresh_state",
            columns: &["entity_ref", "errors", "last_discovery_at"],
            since: REFRESH_STATE,
        }],
        params: &[
            Param {
                name: "kind",
                description: "only this kind (component, api...); empty for all",
                kind: ParamKind::Text,
                default: "",
            },
            LIMIT,
        ],
        sql: "SELECT entity_ref,\n\
              \x20      substring(errors from '\"message\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"') AS first_error,\n\
              \x20      length(errors) AS errors_length,\n\
              \x20      last_discovery_at\n\
              FROM refresh_state\n\
              WHERE errors IS NOT NULL AND btrim(errors) NOT IN ('', '[]')\n\
              \x20 AND ({kind} = '' OR lower(entity_ref) LIKE lower({kind}) || ':%')\n\
              ORDER BY entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "refresh-overdue",
        title: "Entities overdue for refresh",
        description: "Entities whose next refresh is past due by more than `minutes`, most \
                      overdue first. When every entity is overdue, catalog processing has \
                      stopped (no backend running the processing loop, or it is stuck).",
        area: "catalog",
        any_database: false,
        needs: &[Need {
            table: "refresh_state",
            columns: &["entity_ref", "next_update_at", "last_discovery_at"],
            since: REFRESH_STATE,
        }],
        params: &[
            Param {
                name: "minutes",
                description: "past due by more than this many minutes",
                kind: ParamKind::Number {
                    min: 0,
                    max: 5_256_000,
                },
                default: "30",
            },
            LIMIT,
        ],
        sql: "SELECT entity_ref, next_update_at,\n\
              \x20      date_trunc('second', now() - next_update_at) AS overdue_by,\n\
              \x20      last_discovery_at\n\
              FROM refresh_state\n\
              WHERE next_update_at < now() - make_interval(mins => {minutes})\n\
              ORDER BY next_update_at, entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "refresh-loop-candidates",
        title: "Refresh loop candidates",
        description: "Entities emitted by several parents (locations or providers that fight \
                      over them, so the entity flips between versions and keeps being \
                      re-stitched) or by themselves, most parents first.",
        area: "catalog",
        any_database: false,
        needs: &[Need {
            table: "refresh_state_references",
            columns: &["source_key", "source_entity_ref", "target_entity_ref"],
            since: REFRESH_STATE,
        }],
        params: &[
            Param {
                name: "min_parents",
                description: "at least this many parents",
                kind: ParamKind::Number {
                    min: 1,
                    max: 1_000_000,
                },
                default: "2",
            },
            LIMIT,
        ],
        sql: "SELECT target_entity_ref AS entity_ref,\n\
              \x20      count(*) AS parents,\n\
              \x20      count(*) FILTER (WHERE source_entity_ref = target_entity_ref) AS self_references,\n\
              \x20      string_agg(coalesce(source_entity_ref, 'provider ' || source_key), ', '\n\
              \x20                 ORDER BY coalesce(source_entity_ref, source_key)) AS emitted_by\n\
              FROM refresh_state_references\n\
              GROUP BY target_entity_ref\n\
              HAVING count(*) >= {min_parents}\n\
              \x20   OR count(*) FILTER (WHERE source_entity_ref = target_entity_ref) > 0\n\
              ORDER BY parents DESC, entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later, while refresh_state_references exists",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "largest-entities",
        title: "Largest entities",
        description: "Stitched entities by the size of their JSON, largest first: very large \
                      entities slow stitching, the search table and every API read.",
        area: "catalog",
        any_database: false,
        needs: &[
            Need {
                table: "final_entities",
                columns: &["entity_id", "final_entity"],
                since: REFRESH_STATE,
            },
            Need {
                table: "refresh_state",
                columns: &["entity_id", "entity_ref"],
                since: REFRESH_STATE,
            },
        ],
        params: &[LIMIT],
        sql: "SELECT s.entity_ref, octet_length(f.final_entity) AS bytes,\n\
              \x20      pg_size_pretty(octet_length(f.final_entity)::bigint) AS size\n\
              FROM final_entities f\n\
              JOIN refresh_state s ON s.entity_id = f.entity_id\n\
              WHERE f.final_entity IS NOT NULL\n\
              ORDER BY bytes DESC, s.entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "orphan-candidates",
        title: "Orphan candidates",
        description: "Entities that no location or provider emits any more (no row in \
                      refresh_state_references points at them): Backstage marks them \
                      backstage.io/orphan and, with orphanStrategy: delete, removes them.",
        area: "catalog",
        any_database: false,
        needs: &[
            Need {
                table: "refresh_state",
                columns: &["entity_ref", "last_discovery_at"],
                since: REFRESH_STATE,
            },
            Need {
                table: "refresh_state_references",
                columns: &["target_entity_ref"],
                since: REFRESH_STATE,
            },
        ],
        params: &[LIMIT],
        sql: "SELECT s.entity_ref, s.last_discovery_at\n\
              FROM refresh_state s\n\
              WHERE NOT EXISTS (SELECT 1 FROM refresh_state_references r\n\
              \x20                 WHERE r.target_entity_ref = s.entity_ref)\n\
              ORDER BY s.entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later, while refresh_state_references exists",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "relations-to-missing-targets",
        title: "Relations to missing entities",
        description: "Relation targets that are not in the catalog (no stitched entity with \
                      that ref): typos in spec.owner or dependsOn, deleted groups, entities \
                      whose processing fails. Each with the entities that point at it.",
        area: "catalog",
        any_database: false,
        needs: &[
            Need {
                table: "relations",
                columns: &["source_entity_ref", "type", "target_entity_ref"],
                since: REFRESH_STATE,
            },
            Need {
                table: "final_entities",
                columns: &["entity_id", "final_entity"],
                since: REFRESH_STATE,
            },
            Need {
                table: "refresh_state",
                columns: &["entity_id", "entity_ref"],
                since: REFRESH_STATE,
            },
        ],
        params: &[LIMIT],
        sql: "SELECT r.target_entity_ref AS missing_target, count(*) AS relations,\n\
              \x20      string_agg(DISTINCT r.type, ', ') AS types,\n\
              \x20      string_agg(DISTINCT r.source_entity_ref, ', ') AS from_entities\n\
              FROM relations r\n\
              WHERE NOT EXISTS (SELECT 1 FROM refresh_state s\n\
              \x20                 JOIN final_entities f ON f.entity_id = s.entity_id\n\
              \x20                 WHERE s.entity_ref = r.target_entity_ref\n\
              \x20                   AND f.final_entity IS NOT NULL)\n\
              GROUP BY r.target_entity_ref\n\
              ORDER BY r.target_entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "catalog-search-rows-per-entity",
        title: "Catalog filter rows per entity",
        description: "Rows of the catalog's own `search` table (its key/value filter index, \
                      not the search plugin) per entity, most first: an entity with thousands \
                      of rows (huge annotations, long lists) slows every catalog filter.",
        area: "catalog",
        any_database: false,
        needs: &[
            Need {
                table: "search",
                columns: &["entity_id", "key"],
                since: REFRESH_STATE,
            },
            Need {
                table: "refresh_state",
                columns: &["entity_id", "entity_ref"],
                since: REFRESH_STATE,
            },
        ],
        params: &[LIMIT],
        sql: "SELECT s.entity_ref, count(*) AS search_rows,\n\
              \x20      count(DISTINCT x.key) AS keys\n\
              FROM search x\n\
              JOIN refresh_state s ON s.entity_id = x.entity_id\n\
              GROUP BY s.entity_ref\n\
              ORDER BY search_rows DESC, s.entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "search-documents-by-type",
        title: "Search documents by type",
        description: "The search plugin's index (search-backend-module-pg `documents`): \
                      documents and their size per type. A type with no documents means its \
                      collator has not run or failed.",
        area: "search",
        any_database: false,
        needs: &[Need {
            table: "documents",
            columns: &["type", "document"],
            since: "search-backend-module-pg migration 20210311110000_init (0.3.6)",
        }],
        params: &[],
        sql: "SELECT type, count(*) AS documents,\n\
              \x20      pg_size_pretty(sum(pg_column_size(document))::bigint) AS size\n\
              FROM documents\n\
              GROUP BY type\n\
              ORDER BY documents DESC, type",
        works_on: "search-backend-module-pg 0.3.6 and later",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "tasks-by-template-and-status",
        title: "Scaffolder tasks by template and status",
        description: "How many tasks each template has per status (open, processing, \
                      completed, failed; a cancelled task ends failed), and the latest.",
        area: "scaffolder",
        any_database: false,
        needs: &[Need {
            table: "tasks",
            columns: &["spec", "status", "created_at"],
            since: TASKS,
        }],
        params: &[Param {
            name: "status",
            description: "only this status; empty for all",
            kind: ParamKind::Text,
            default: "",
        }],
        sql: "SELECT coalesce(spec::jsonb #>> '{templateInfo,entityRef}', '(no template ref)') AS template,\n\
              \x20      status, count(*) AS tasks, max(created_at) AS latest\n\
              FROM tasks\n\
              WHERE {status} = '' OR status = {status}\n\
              GROUP BY 1, 2\n\
              ORDER BY 1, 2",
        works_on: "scaffolder-backend 0.11.1 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "stuck-tasks",
        title: "Scaffolder tasks stuck in processing",
        description: "Tasks in `processing` whose worker has not sent a heartbeat for \
                      `minutes`: the backend that ran them stopped. Backstage recovers them \
                      only with EXPERIMENTAL_recovery set on the template.",
        area: "scaffolder",
        any_database: false,
        needs: &[Need {
            table: "tasks",
            columns: &["id", "spec", "status", "created_at", "last_heartbeat_at"],
            since: TASKS,
        }],
        params: &[
            Param {
                name: "minutes",
                description: "silent for more than this many minutes",
                kind: ParamKind::Number {
                    min: 0,
                    max: 5_256_000,
                },
                default: "5",
            },
            LIMIT,
        ],
        sql: "SELECT id, spec::jsonb #>> '{templateInfo,entityRef}' AS template,\n\
              \x20      created_at, last_heartbeat_at,\n\
              \x20      date_trunc('second', now() - last_heartbeat_at) AS silent_for\n\
              FROM tasks\n\
              WHERE status = 'processing'\n\
              \x20 AND (last_heartbeat_at IS NULL\n\
              \x20      OR last_heartbeat_at < now() - make_interval(mins => {minutes}))\n\
              ORDER BY last_heartbeat_at NULLS FIRST, id\n\
              LIMIT {limit}",
        works_on: "scaffolder-backend 0.11.1 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "offline-sessions-by-user",
        title: "Refresh-token sessions by user",
        description: "auth-backend's offline sessions (refresh tokens; only a scrypt hash of \
                      each token is stored) per user: how many, for which OIDC clients, last \
                      used when.",
        area: "auth",
        any_database: false,
        needs: &[Need {
            table: "offline_sessions",
            columns: &["user_entity_ref", "oidc_client_id", "last_used_at"],
            since: "auth-backend migration 20251020000000_offline_sessions (0.27.3)",
        }],
        params: &[LIMIT],
        sql: "SELECT user_entity_ref, count(*) AS sessions,\n\
              \x20      string_agg(DISTINCT coalesce(oidc_client_id, '-'), ', ') AS clients,\n\
              \x20      max(last_used_at) AS last_used\n\
              FROM offline_sessions\n\
              GROUP BY user_entity_ref\n\
              ORDER BY sessions DESC, user_entity_ref\n\
              LIMIT {limit}",
        works_on: "auth-backend 0.27.3 and later (offline_sessions)",
        checked_on: &["current"],
    },
    Recipe {
        id: "browser-sessions",
        title: "Browser sessions by expiry",
        description: "auth-backend's express sessions (connect-session-knex `sessions`), \
                      counted as expired or live. Only sign-in providers that keep state in \
                      the session write here; guest and OIDC-server sign-in leave it empty.",
        area: "auth",
        any_database: false,
        needs: &[Need {
            table: "sessions",
            columns: &["sid", "expired"],
            since: "auth-backend migration 20230428155633_sessions (0.18.8)",
        }],
        params: &[],
        sql: "SELECT expired < now() AS is_expired, count(*) AS sessions,\n\
              \x20      min(expired) AS first_expiry, max(expired) AS last_expiry\n\
              FROM sessions\n\
              GROUP BY 1\n\
              ORDER BY 1",
        works_on: "auth-backend 0.18.8 and later (sessions)",
        checked_on: &["2023-10", "current"],
    },
    Recipe {
        id: "knex-state",
        title: "Knex migrations and locks",
        description: "Every Knex lock table of the database (the plugin's own and the \
                      backend services', prefixed) with its is_locked, then the plugin's \
                      latest migrations. A lock at 1 while no backend is starting is the \
                      \"Migration table is already locked\" outage.",
        area: "catalog",
        any_database: true,
        needs: &[Need {
            table: "knex_migrations",
            columns: &["id", "name", "batch", "migration_time"],
            since: "the plugin's first Knex migration",
        }],
        params: &[Param {
            name: "limit",
            description: "latest migrations shown",
            kind: ParamKind::Number {
                min: 1,
                max: 10_000,
            },
            default: "10",
        }],
        sql: "SELECT table_name AS lock_table,\n\
              \x20      (xpath('/row/is_locked/text()',\n\
              \x20             query_to_xml(format('SELECT is_locked FROM %I.%I LIMIT 1', table_schema, table_name),\n\
              \x20                          false, true, '')))[1]::text AS is_locked\n\
              FROM information_schema.tables\n\
              WHERE table_schema = current_schema() AND table_name LIKE '%knex\\_migrations\\_lock'\n\
              ORDER BY 1;\n\
              SELECT name, batch, migration_time\n\
              FROM knex_migrations\n\
              ORDER BY id DESC\n\
              LIMIT {limit}",
        works_on: "every Backstage plugin database",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "scheduler-tickets",
        title: "Scheduled tasks and their run tickets",
        description: "The backend scheduler's tasks in this database: next run, and the \
                      ticket of a run in progress. A ticket past its expiry that stays is a \
                      task that never runs again until it is cleared.",
        area: "search",
        any_database: true,
        needs: &[Need {
            table: "backstage_backend_tasks__tasks",
            columns: &[
                "id",
                "next_run_start_at",
                "current_run_ticket",
                "current_run_started_at",
                "current_run_expires_at",
            ],
            since: SCHEDULER,
        }],
        params: &[],
        sql: "SELECT id, next_run_start_at,\n\
              \x20      current_run_ticket IS NOT NULL AS running,\n\
              \x20      current_run_started_at, current_run_expires_at,\n\
              \x20      coalesce(current_run_expires_at < now(), false) AS ticket_expired\n\
              FROM backstage_backend_tasks__tasks\n\
              ORDER BY id",
        works_on: "backend-tasks 0.3.3 and later, now backend-defaults (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "largest-tables",
        title: "Largest tables, with dead rows",
        description: "The database's tables by total size (with indexes and TOAST), with live \
                      and dead row estimates and the last (auto)vacuum and analyze: the first \
                      look when catalog queries get slow.",
        area: "catalog",
        any_database: true,
        needs: &[],
        params: &[LIMIT],
        sql: "SELECT relname AS table_name,\n\
              \x20      pg_size_pretty(pg_total_relation_size(relid)) AS total_size,\n\
              \x20      n_live_tup AS live_rows, n_dead_tup AS dead_rows,\n\
              \x20      greatest(last_vacuum, last_autovacuum) AS last_vacuum,\n\
              \x20      greatest(last_analyze, last_autoanalyze) AS last_analyze\n\
              FROM pg_stat_user_tables\n\
              WHERE schemaname = current_schema()\n\
              ORDER BY pg_total_relation_size(relid) DESC, relname\n\
              LIMIT {limit}",
        works_on: "every PostgreSQL database",
        checked_on: ALL_ERAS,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_literals_never_sql() {
        let r = find("entities-with-errors").unwrap();
        let mut v = BTreeMap::new();
        v.insert(
            "kind".to_string(),
            r"x' OR 1=1; DROP TABLE t; --\".to_string(),
        );
        let sql = r.sql_with(&v).unwrap();
        assert!(sql.contains(r"E'x'' OR 1=1; DROP TABLE t; --\\'"), "{sql}");
        assert!(sql.contains("LIMIT 100"));
        v.insert("limit".into(), "1; DELETE FROM tasks".into());
        let e = r.sql_with(&v).unwrap_err().to_string();
        assert!(e.contains("whole number from 1 to 100000"), "{e}");
        v.insert("limit".into(), "0".into());
        assert!(r.sql_with(&v).is_err());
        let mut v = BTreeMap::new();
        v.insert("nope".into(), "1".into());
        let e = r.sql_with(&v).unwrap_err().to_string();
        assert!(
            e.contains("no parameter `nope`") && e.contains("kind, limit"),
            "{e}"
        );
        assert!(
            find("no-such")
                .unwrap_err()
                .to_string()
                .contains("knex-state")
        );
    }

    #[test]
    fn every_recipe_is_well_formed() {
        let mut ids = std::collections::BTreeSet::new();
        for r in RECIPES {
            assert!(ids.insert(r.id), "{} twice", r.id);
            for p in r.params {
                assert!(
                    r.sql.contains(&format!("{{{}}}", p.name)),
                    "{}: {}",
                    r.id,
                    p.name
                );
            }
            let sql = r.sql_with(&BTreeMap::new()).unwrap();
            assert!(!sql.contains("{limit}") && !sql.contains("{kind}"));
            assert!(super::super::guard::only_reads(
                &crate::sql::split(&sql)[0].sql
            ));
            assert!(!r.checked_on.is_empty());
            assert!(crate::area::Area::parse(r.area).is_some());
        }
    }
}
