//! Recipes of the other plugins (scaffolder tasks, the search index, auth sessions) and of
//! what every plugin database holds (Knex migrations and locks, the scheduler, table sizes).

use super::{ALL_ERAS, LIMIT, Param, ParamKind, Recipe};
use crate::schema::Need;

const TASKS: &str = "scaffolder-backend's first migration, 20210120143715_init";
const SCHEDULER: &str = "the scheduler's first migration, 20210928160613_init (backend-tasks 0.3.3, now backend-defaults)";

pub(super) static RECIPES: &[Recipe] = &[
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
