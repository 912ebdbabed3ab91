//! Scaffolder history: owns the views over the scaffolder plugin's `tasks` and `task_events`
//! (database `<prefix>scaffolder`, or schema `scaffolder`): the task list with filters and
//! keyset paging, a task's detail (template, parameters, steps and their timings, the log as
//! styled spans, the error, the output, which secrets are still stored), and the tasks that
//! created or touched a catalog entity. Every operation has an `*_sql` twin that returns the
//! exact [`Sql`](crate::sql::Sql) it runs, for benchmarks.
//!
//! Secrets: `tasks.secrets` is plaintext JSON in real Backstage while a task is open. Its value
//! never leaves the database: the only queries that touch it are `secrets IS NOT NULL` (the
//! summary, in `list`) and `json_object_keys(secrets::json)` (the detail, in `detail`), so only
//! the key names reach this process. Everything else that leaves this module passes
//! [`redact`](crate::redact) (JWTs in log lines, secret-named keys in parameters and outputs).
//!
//! Performance: Backstage has no index on `tasks.created_at` or `tasks.status`, and we may not
//! add one. A page is therefore one scan of `tasks` reading only `(id, created_at, status
//! [, created_by])` with a top-N sort, in an inner query; the wide columns (`spec`) and the
//! per-task event aggregate (through `task_events_task_id_idx`) are read for the page's rows
//! only. The template filter must read `spec`; it first tests the raw text with `strpos` and
//! parses JSON only for candidate rows.
//!
//! Measured on 100,200 tasks / 1,025,380 events (PostgreSQL 15, `tasks` heap 157 MB because
//! `spec` stays inline compressed; a 2-core machine at load average ~8): the inner top-N scan
//! is ~190-250 ms and the whole page ~20 ms more, while `count(*)` of the same table is
//! ~35-55 ms; the difference is deforming every row past `spec` to reach `created_at`, which
//! no query can avoid without an index. The template filter decompresses every `spec`
//! (~1.5 s there). A detail (one task, its events through the index) is ~8 ms.
//!
//! The rooms, each building only on those listed before it:
//! - `handle`: [`Scaffolder`] (opening it, the tables and columns each view needs, what this
//!   database lacks);
//! - `list`: the task list, its filters and keyset pages, and a task's [`TaskSummary`];
//! - `steps`: a task's log as styled spans, and its steps with the timings its events give;
//! - `detail`: one task in full ([`TaskDetail`]): template, parameters, error, output, and
//!   the key names of its stored secrets;
//! - `entities`: the tasks that created or touched a catalog entity ([`EntityTasks`]);
//! - this file: only declares the rooms and re-exports what they make public.

mod detail;
mod entities;
mod handle;
mod list;
mod steps;

pub use detail::{StoredSecrets, TaskDetail, TemplateInfo};
pub use entities::{EntityTask, EntityTasks};
pub use handle::Scaffolder;
pub use list::{StatusFilter, TaskFilter, TaskSummary};
pub use steps::{LogLine, StepView};
