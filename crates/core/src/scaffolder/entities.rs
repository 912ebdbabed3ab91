//! The tasks of a catalog entity: those whose completion output names it (an `entityRef`, or
//! a link to its catalog page) and those that ran the template of its
//! `backstage.io/source-template` annotation, newest first.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::handle::{NEED_EVENTS, Scaffolder};
use super::list::TaskSummary;
use crate::error::Result;
use crate::page::limit;
use crate::refs::{EntityRef, normalize_ref};
use crate::sql::{Param, Sql, query_error};

/// A task linked to an entity, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityTask {
    #[serde(flatten)]
    pub task: TaskSummary,
    /// `output` (the completion output names the entity) and/or `source-template` (the task
    /// ran the template of the entity's `backstage.io/source-template` annotation).
    pub via: Vec<&'static str>,
}

/// The tasks linked to an entity, newest first.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityTasks {
    pub entity_ref: String,
    pub items: Vec<EntityTask>,
    /// How many tasks matched before the limit.
    pub matched: usize,
}

/// Task id -> why it is linked to the entity.
type Via = BTreeMap<String, BTreeSet<&'static str>>;

impl Scaffolder {
    /// The SQL that finds tasks whose completion output mentions an entity: `$1` the lower-cased
    /// ref, `$2` the lower-cased catalog path `/catalog/<ns>/<kind>/<name>`.
    pub fn output_mentions_sql(&self, entity_ref: &str) -> Result<Sql> {
        self.db.check("tasks of an entity", &[NEED_EVENTS])?;
        let r = normalize_ref(entity_ref, "component");
        let mut q = Sql::new();
        let p1 = q.bind(Param::Text(r.clone()));
        let p2 = q.bind(Param::Text(catalog_path(&r)));
        q.text = format!(
            "SELECT e.task_id::text AS task_id, e.body FROM {} e \
             WHERE e.event_type = 'completion' AND (strpos(lower(e.body), {p1}) > 0 OR strpos(lower(e.body), {p2}) > 0)",
            self.t("task_events")
        );
        Ok(q)
    }

    /// The SQL that finds the tasks that ran a template.
    pub fn template_tasks_sql(&self, template: &str) -> Result<Sql> {
        self.require_tasks()?;
        let mut q = Sql::new();
        let p = q.bind(Param::Text(normalize_ref(template, "template")));
        q.text = format!(
            "SELECT t.id::text AS task_id FROM {} t \
             WHERE strpos(lower(t.spec), {p}) > 0 AND lower(t.spec::json #>> '{{templateInfo,entityRef}}') = {p}",
            self.t("tasks")
        );
        Ok(q)
    }

    /// The tasks whose completion output links to or names `entity_ref`, and those that ran
    /// `source_template` (the entity's `backstage.io/source-template` annotation), newest
    /// first, at most `limit` (default 100).
    pub async fn tasks_for_entity(
        &self,
        entity_ref: &str,
        source_template: Option<&str>,
        limit_: Option<usize>,
    ) -> Result<EntityTasks> {
        self.require_tasks()?;
        let r = normalize_ref(entity_ref, "component");
        let mut via = Via::new();
        if self.has_events() {
            self.add_output_mentions(&r, &mut via).await?;
        }
        if let Some(tpl) = source_template.filter(|s| !s.trim().is_empty()) {
            self.add_template_tasks(tpl, &mut via).await?;
        }
        let matched = via.len();
        if via.is_empty() {
            return Ok(EntityTasks {
                entity_ref: r,
                items: Vec::new(),
                matched,
            });
        }
        let items = self.linked_tasks(&via, limit_).await?;
        Ok(EntityTasks {
            entity_ref: r,
            items,
            matched,
        })
    }

    /// Adds the tasks whose completion output names the entity `r` (a normalised ref).
    async fn add_output_mentions(&self, r: &str, via: &mut Via) -> Result<()> {
        let path = catalog_path(r);
        for row in self
            .output_mentions_sql(r)?
            .fetch_all(&self.pool, &self.ep)
            .await?
        {
            let get = |e: sqlx::Error| query_error(e, &self.ep);
            let id: String = row.try_get("task_id").map_err(get)?;
            let body: String = row.try_get("body").map_err(get)?;
            let Ok(body) = serde_json::from_str::<Value>(&body) else {
                continue;
            };
            if body.get("output").is_some_and(|o| mentions(o, r, &path)) {
                via.entry(id).or_default().insert("output");
            }
        }
        Ok(())
    }

    /// Adds the tasks that ran the template `tpl`.
    async fn add_template_tasks(&self, tpl: &str, via: &mut Via) -> Result<()> {
        for row in self
            .template_tasks_sql(tpl)?
            .fetch_all(&self.pool, &self.ep)
            .await?
        {
            let id: String = row
                .try_get("task_id")
                .map_err(|e| query_error(e, &self.ep))?;
            via.entry(id).or_default().insert("source-template");
        }
        Ok(())
    }

    /// The summaries of the linked tasks, newest first, at most `limit_`.
    async fn linked_tasks(&self, via: &Via, limit_: Option<usize>) -> Result<Vec<EntityTask>> {
        let mut q = Sql::new();
        let ids = q.bind(Param::TextArray(via.keys().cloned().collect()));
        let pl = q.bind(Param::Int(limit(limit_) as i64));
        let keys = format!(
            "SELECT t.id, t.created_at FROM {} t WHERE t.id = ANY({ids}::text[]{}) \
             ORDER BY t.created_at DESC, t.id DESC LIMIT {pl}",
            self.t("tasks"),
            if self.id_is_uuid() { "::uuid[]" } else { "" },
        );
        q.text = self.summary_sql(&keys, "");
        let rows = q.fetch_all(&self.pool, &self.ep).await?;
        rows.iter()
            .map(|row| {
                let task = self.summary(row)?;
                let v = via
                    .get(&task.id)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                Ok(EntityTask { task, via: v })
            })
            .collect()
    }
}

/// `/catalog/<ns>/<kind>/<name>` of a normalised ref: how Backstage links to an entity page.
fn catalog_path(r: &str) -> String {
    EntityRef::split(r).catalog_path()
}

/// Whether an output names the entity: an `entityRef` equal to it (case-insensitively), or
/// a link whose URL points at its catalog page.
fn mentions(v: &Value, r: &str, path: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, val)| match (k.as_str(), val) {
            ("entityRef", Value::String(s)) if s.eq_ignore_ascii_case(r) => true,
            ("url" | "href", Value::String(s)) => {
                let s = s.to_lowercase();
                s.contains(&format!("{path}/"))
                    || s.ends_with(path)
                    || s.contains(&format!("{path}?"))
            }
            _ => mentions(val, r, path),
        }),
        Value::Array(a) => a.iter().any(|x| mentions(x, r, path)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_paths() {
        assert_eq!(
            catalog_path("component:default/svc"),
            "/catalog/default/component/svc"
        );
        let out = serde_json::json!({"links": [{"title": "x", "url": "https://b.example/catalog/default/component/svc"}]});
        assert!(mentions(
            &out,
            "component:default/svc",
            "/catalog/default/component/svc"
        ));
        assert!(!mentions(
            &out,
            "component:default/sv",
            "/catalog/default/component/sv"
        ));
        let out = serde_json::json!({"entityRef": "Component:default/Svc"});
        assert!(mentions(
            &out,
            "component:default/svc",
            "/catalog/default/component/svc"
        ));
    }
}
