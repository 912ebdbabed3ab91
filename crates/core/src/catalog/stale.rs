//! What a stale list says as a whole ([`StaleSummary`]): how many entities are overdue for
//! refresh or not rediscovered, by how much at least, and whether processing has stopped, by
//! the database's clock.

use serde::Serialize;
use sqlx::Row;

use super::{Catalog, NEED_STATE_TIMES, Sql, views};
use crate::error::Result;
use crate::sql::iso_text;

/// The counts behind a stale list and its conclusion, by the database's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StaleSummary {
    /// Entities the processing loop knows (`refresh_state`).
    pub total: i64,
    /// Of those, stale either way.
    pub stale: i64,
    /// `next_update_at` before the cutoff.
    pub overdue: i64,
    /// `last_discovery_at` before the cutoff.
    pub not_rediscovered: i64,
    /// How long ago the freshest overdue entity was due: every overdue one is overdue by at
    /// least this.
    pub least_overdue_secs: Option<i64>,
    /// The latest `next_update_at` of any entity.
    pub newest_due_at: Option<String>,
    /// One sentence, the conclusion first.
    pub conclusion: String,
}

impl StaleSummary {
    fn conclude(&mut self) {
        use crate::refs::time::human_duration;
        let by = self
            .least_overdue_secs
            .map(|s| format!(" by {} or more", human_duration(s)))
            .unwrap_or_default();
        let entities = |n: i64| if n == 1 { "entity" } else { "entities" };
        let mut c = if self.stale == 0 {
            format!(
                "None of the {} {} is stale.",
                self.total,
                entities(self.total)
            )
        } else if self.overdue == self.total {
            format!(
                "All {} {} are overdue for refresh{by}: catalog processing has stopped{}.",
                self.total,
                entities(self.total),
                self.newest_due_at
                    .as_deref()
                    .map(|t| format!(" (the latest refresh was due at {t})"))
                    .unwrap_or_default()
            )
        } else if self.overdue > 0 {
            format!(
                "{} of {} {} are overdue for refresh{by}: processing is behind with them, not stopped.",
                self.overdue,
                self.total,
                entities(self.total)
            )
        } else {
            format!("No entity of {} is overdue for refresh.", self.total)
        };
        if self.not_rediscovered > 0 {
            c.push_str(&format!(
                " {} of {} {} not been emitted again by their parent since the cutoff.",
                self.not_rediscovered,
                self.total,
                if self.not_rediscovered == 1 {
                    "has"
                } else {
                    "have"
                }
            ));
        }
        self.conclusion = c;
    }
}

impl Catalog {
    /// The statement [`Catalog::stale`] runs for its summary at a cutoff (ISO 8601).
    pub fn stale_summary_sql(&self, cutoff: &str) -> Result<Sql> {
        self.check(views::STALE, &[NEED_STATE_TIMES])?;
        let mut sql = Sql::default();
        let c = sql.text(cutoff);
        sql.text = format!(
            "SELECT count(*) AS total, \
                    count(*) FILTER (WHERE last_discovery_at < {c}::timestamptz OR next_update_at < {c}::timestamptz) AS stale, \
                    count(*) FILTER (WHERE next_update_at < {c}::timestamptz) AS overdue, \
                    count(*) FILTER (WHERE last_discovery_at < {c}::timestamptz) AS undiscovered, \
                    {} AS least_overdue, {} AS newest_due \
             FROM {}",
            crate::sql::age_secs(&format!(
                "max(next_update_at) FILTER (WHERE next_update_at < {c}::timestamptz)"
            )),
            iso_text("max(next_update_at)"),
            self.t("refresh_state"),
        );
        Ok(sql)
    }

    pub(super) async fn stale_summary(&self, cutoff: &str) -> Result<StaleSummary> {
        let rows = self.fetch(&self.stale_summary_sql(cutoff)?).await?;
        let r = rows.first();
        let get = |n: &str| r.and_then(|r| r.get::<Option<i64>, _>(n)).unwrap_or(0);
        let mut s = StaleSummary {
            total: get("total"),
            stale: get("stale"),
            overdue: get("overdue"),
            not_rediscovered: get("undiscovered"),
            least_overdue_secs: r.and_then(|r| r.get("least_overdue")),
            newest_due_at: r.and_then(|r| r.get("newest_due")),
            conclusion: String::new(),
        };
        s.conclude();
        Ok(s)
    }
}
