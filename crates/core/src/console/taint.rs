//! Secrets that travel through expressions: a result column read straight from a table is
//! masked by its origin ([`super::cells`]), but `secrets::jsonb`, `upper(t.secrets)` or
//! `string_agg(token_hash, ',')` has no origin. The statement's verbose plan names the
//! expression behind each result column; one that refers to a secret column, or to a column of
//! a subquery or CTE (which cannot be traced further), is masked. A secret used only in a
//! filter is no result column and taints nothing.

use std::collections::HashMap;

use serde_json::Value;

use crate::tables::is_masked_column;

/// For each of the first `n` result columns of the plan (`EXPLAIN (VERBOSE, FORMAT JSON)`),
/// whether its expression may carry a secret. Columns the plan does not name count as secret.
pub fn masked_outputs(plan: &Value, n: usize) -> Vec<bool> {
    let top = plan.as_array().and_then(|a| a.first()).unwrap_or(plan);
    let Some(root) = top.get("Plan") else {
        return vec![true; n];
    };
    // The base tables the plan scans, by the alias its expressions use.
    let mut tables: HashMap<String, String> = HashMap::new();
    collect_tables(root, &mut tables);
    let only_table = (tables.len() == 1)
        .then(|| tables.values().next().cloned())
        .flatten()
        .unwrap_or_default();
    let outputs: Vec<&str> = root
        .get("Output")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    (0..n)
        .map(|i| {
            outputs
                .get(i)
                .is_none_or(|expr| carries_secret(expr, &tables, &only_table))
        })
        .collect()
}

fn collect_tables(n: &Value, out: &mut HashMap<String, String>) {
    if let Some(table) = n.get("Relation Name").and_then(Value::as_str) {
        let alias = n.get("Alias").and_then(Value::as_str).unwrap_or(table);
        out.insert(alias.to_string(), table.to_string());
    }
    for kid in n
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_tables(kid, out);
    }
}

/// Whether an output expression refers to a secret column or to a column that is not a base
/// table's. String literals are skipped.
fn carries_secret(expr: &str, tables: &HashMap<String, String>, only_table: &str) -> bool {
    let mut rest = expr;
    let mut code = String::new();
    // Drop 'literals' (with '' inside): their words are data, not column names.
    while let Some(start) = rest.find('\'') {
        code.push_str(&rest[..start]);
        let mut i = start + 1;
        let b = rest.as_bytes();
        while i < b.len() {
            if b[i] == b'\'' {
                if b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                break;
            }
            i += 1;
        }
        code.push(' ');
        rest = rest.get(i + 1..).unwrap_or("");
    }
    code.push_str(rest);
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '"';
    for token in code.split(|c: char| !ident(c)).filter(|t| !t.is_empty()) {
        let token = token.replace('"', "");
        match token.rsplit_once('.') {
            Some((qualifier, column)) => {
                let alias = qualifier.rsplit('.').next().unwrap_or(qualifier);
                match tables.get(alias) {
                    Some(table) if is_masked_column(table, column) => return true,
                    Some(_) => {}
                    // A subquery's or CTE's column: where it comes from is not in the name.
                    None if !column.is_empty() && !is_type_or_number(qualifier) => return true,
                    None => {}
                }
            }
            None if is_masked_column(only_table, &token) => return true,
            None => {}
        }
    }
    false
}

/// `1.5`, or a type or function of a system schema (`pg_catalog.text`,
/// `information_schema.sql_identifier`).
fn is_type_or_number(qualifier: &str) -> bool {
    qualifier.chars().all(|c| c.is_ascii_digit())
        || matches!(qualifier, "pg_catalog" | "information_schema")
}

/// Whether a statement can be explained to find out (queries and data changes: `Some(true)`),
/// returns no table data (`SHOW`, `EXPLAIN`: `Some(false)`), or neither (`FETCH` from a cursor,
/// `CALL`...: `None`, where every column without an origin is masked).
pub fn explainable(sql: &str) -> Option<bool> {
    let words = super::guard::leading_words(sql, 1);
    match words.first().map(String::as_str) {
        Some("SELECT" | "WITH" | "VALUES" | "TABLE" | "INSERT" | "UPDATE" | "DELETE" | "MERGE") => {
            Some(true)
        }
        Some("SHOW" | "EXPLAIN") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(output: &[&str], scans: Value) -> Value {
        json!([{"Plan": {"Node Type": "Result", "Output": output, "Plans": scans}}])
    }

    #[test]
    fn expressions_over_secrets_and_untraceable_columns_are_masked() {
        let tasks = json!([{"Node Type": "Seq Scan", "Relation Name": "tasks", "Alias": "t",
                            "Output": ["t.id", "t.secrets", "t.spec"]}]);
        let p = plan(
            &[
                "t.id",
                "(t.secrets)::jsonb",
                "upper(t.secrets)",
                "length(t.spec)",
                "count(*)",
                "'secrets'::text",
            ],
            tasks,
        );
        assert_eq!(
            masked_outputs(&p, 6),
            vec![false, true, true, false, false, false]
        );
        // Unqualified names, with one table scanned.
        let one = json!([{"Plan": {"Node Type": "Aggregate", "Output": ["string_agg(secrets, ','::text)", "count(*)"],
            "Plans": [{"Node Type": "Seq Scan", "Relation Name": "tasks", "Alias": "tasks",
                       "Output": ["id", "secrets"]}]}}]);
        assert_eq!(masked_outputs(&one, 2), vec![true, false]);
        // A CTE's column cannot be traced: masked.
        let cte = plan(
            &["lower(c.s)", "c.id"],
            json!([{"Node Type": "CTE Scan", "Alias": "c"}]),
        );
        assert_eq!(masked_outputs(&cte, 2), vec![true, true]);
        // Table-specific secrets: offline_sessions.id.
        let o = plan(
            &["upper((o.id)::text)"],
            json!([{"Node Type": "Seq Scan",
            "Relation Name": "offline_sessions", "Alias": "o"}]),
        );
        assert_eq!(masked_outputs(&o, 1), vec![true]);
        // Columns the plan does not name count as secret.
        assert_eq!(
            masked_outputs(&plan(&["1"], json!([])), 2),
            vec![false, true]
        );
        assert_eq!(masked_outputs(&json!("nope"), 1), vec![true]);
        let typed = plan(
            &["(c.relname)::information_schema.sql_identifier"],
            json!([{
            "Node Type": "Seq Scan", "Relation Name": "pg_class", "Alias": "c"}]),
        );
        assert_eq!(masked_outputs(&typed, 1), vec![false]);
        assert_eq!(
            explainable("  with x as (select 1) select * from x"),
            Some(true)
        );
        assert_eq!(explainable("show server_version"), Some(false));
        assert_eq!(explainable("fetch all from c"), None);
    }
}
