//! Backstage recipes: the queries operators run by hand today, named, described and with
//! parameters, run through the console (read-only, masked, cancellable like any script).
//!
//! Each recipe says what its SQL needs ([`Need`]: tables and columns, with the migration that
//! adds them) and the Backstage releases it was checked on: the real-Backstage fixtures of
//! `tests/fixtures/backstage` (`crates/core/tests/console_recipes.rs` runs every recipe on every
//! era and checks that it works exactly where it says). On a database that lacks what it
//! needs, a recipe fails as `schema_degraded`, naming the missing table and its migration.
//!
//! The recipes themselves: [`catalog`] (the processing loop, stitching, relations) and
//! [`plugins`] (scaffolder, search, auth, and what every plugin database holds: Knex, the
//! scheduler, table sizes).
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

mod catalog;
mod plugins;

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

/// Every recipe, catalog first.
pub fn all() -> impl Iterator<Item = &'static Recipe> {
    catalog::RECIPES.iter().chain(plugins::RECIPES)
}

/// The recipe `id`.
pub fn find(id: &str) -> Result<&'static Recipe> {
    all().find(|r| r.id == id).ok_or_else(|| {
        CoreError::config(format!(
            "no recipe `{id}`; the recipes: {}",
            all().map(|r| r.id).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// Every recipe, for listing.
pub fn list() -> Vec<RecipeInfo> {
    all().map(Recipe::info).collect()
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

/// The fixture eras a recipe checked on all of them names.
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
        for r in all() {
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
