//! `EXPLAIN (FORMAT JSON)` as a tree: each plan node with its estimated cost and rows (and,
//! with `ANALYZE`, its measured time, rows and loops), the node that costs most on its own
//! marked. `ANALYZE` runs the statement, so it is only done for statements that only read
//! ([`guard::only_reads`]); the plan is read in the console's read-only transaction like any
//! other console statement.

use serde::Serialize;
use serde_json::Value;

use super::{RunOptions, guard, run_script};
use crate::connect::Connections;
use crate::error::{CoreError, Result};
use crate::sql::split;
use crate::tables::Target;

/// One node of a plan.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlanNode {
    /// `Seq Scan`, `Hash Join`, `Index Scan`...
    pub node_type: String,
    /// The table (with its alias when it differs) or index a scan reads.
    pub relation: Option<String>,
    pub index: Option<String>,
    /// What else the node says: its filter, join or index condition, sort key...
    pub details: Vec<(String, String)>,
    pub startup_cost: f64,
    pub total_cost: f64,
    /// Rows the planner expects.
    pub plan_rows: f64,
    /// With ANALYZE: the time of one loop in ms, the rows of one loop, and the loops.
    pub actual_total_ms: Option<f64>,
    pub actual_rows: Option<f64>,
    pub loops: Option<f64>,
    /// What the node costs on its own, without its children: time in ms with ANALYZE, else
    /// estimated cost.
    pub self_weight: f64,
    /// The node with the largest `self_weight` of the plan.
    pub slowest: bool,
    pub children: Vec<PlanNode>,
}

/// A statement's plan.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Plan {
    pub database: String,
    /// The statement explained.
    pub sql: String,
    pub analyzed: bool,
    pub root: PlanNode,
    pub planning_ms: Option<f64>,
    pub execution_ms: Option<f64>,
}

/// Explains the one statement of `sql` on the database `target` names; with `analyze` it is
/// run too (refused for statements that may write).
pub async fn explain(
    conns: &Connections,
    target: &Target,
    sql: &str,
    analyze: bool,
) -> Result<Plan> {
    let statements = split(sql);
    let [statement] = statements.as_slice() else {
        return Err(CoreError::config(format!(
            "EXPLAIN takes one statement; {} given: choose the statement to explain",
            statements.len()
        )));
    };
    let stmt = statement.sql.trim();
    if guard::explained(stmt).is_some() {
        return Err(CoreError::config(
            "give the statement without EXPLAIN: the plan is asked for as JSON (add --analyze \
             to run it and measure)",
        ));
    }
    guard::refuse_transaction_control(stmt)?;
    if analyze && !guard::only_reads(stmt) {
        return Err(CoreError::config(
            "EXPLAIN ANALYZE runs the statement, and this one may write: explain it without \
             ANALYZE to see its plan without running it",
        ));
    }
    let options = if analyze {
        "ANALYZE, BUFFERS, FORMAT JSON"
    } else {
        "FORMAT JSON"
    };
    let text = format!("EXPLAIN ({options}) {stmt}");
    let (run, failure) = run_script(conns, target, &text, &RunOptions::default()).await?;
    if let Some(e) = failure {
        return Err(e);
    }
    let value = run
        .statements
        .first()
        .and_then(|s| s.rows.first())
        .and_then(|r| r.first())
        .cloned()
        .unwrap_or(Value::Null);
    let mut plan = parse(&value).ok_or_else(|| {
        CoreError::Internal("the server's EXPLAIN answer has no plan".to_string())
    })?;
    plan.database = run.database;
    plan.sql = stmt.to_string();
    plan.analyzed = analyze;
    Ok(plan)
}

/// A plan from the JSON `EXPLAIN (FORMAT JSON)` returns: `[{"Plan": {...}, ...}]`.
pub fn parse(v: &Value) -> Option<Plan> {
    let top = v.as_array().and_then(|a| a.first()).unwrap_or(v);
    let mut root = node(top.get("Plan")?)?;
    let analyzed = root.actual_total_ms.is_some();
    mark_slowest(&mut root);
    Some(Plan {
        database: String::new(),
        sql: String::new(),
        analyzed,
        root,
        planning_ms: top.get("Planning Time").and_then(Value::as_f64),
        execution_ms: top.get("Execution Time").and_then(Value::as_f64),
    })
}

/// The keys shown as the node's own fields, not among its details.
const OWN_KEYS: [&str; 19] = [
    "Node Type",
    "Operation",
    "Relation Name",
    "Alias",
    "Index Name",
    "Startup Cost",
    "Total Cost",
    "Plan Rows",
    "Plan Width",
    "Actual Startup Time",
    "Actual Total Time",
    "Actual Rows",
    "Actual Loops",
    "Plans",
    "Parallel Aware",
    "Async Capable",
    "Parent Relationship",
    "Schema",
    "Output",
];

fn node(v: &Value) -> Option<PlanNode> {
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let children: Vec<PlanNode> = v
        .get("Plans")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(node).collect())
        .unwrap_or_default();
    let relation = s("Relation Name").map(|r| match s("Alias") {
        Some(a) if a != r => format!("{r} {a}"),
        _ => r,
    });
    let details = v
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !OWN_KEYS.contains(&k.as_str()))
                .filter_map(|(k, val)| {
                    let text = match val {
                        Value::String(t) => t.clone(),
                        Value::Null => return None,
                        Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(", "),
                        other => other.to_string(),
                    };
                    Some((k.clone(), text))
                })
                .collect()
        })
        .unwrap_or_default();
    let actual_total_ms = f("Actual Total Time");
    let loops = f("Actual Loops");
    let total_cost = f("Total Cost").unwrap_or(0.0);
    // A node's own share: its time (all loops) or cost without its children's. InitPlans and
    // SubPlans are children too, so the difference can go below zero: it is then zero.
    let self_weight = match actual_total_ms {
        Some(t) => {
            let all = t * loops.unwrap_or(1.0);
            let kids: f64 = children
                .iter()
                .map(|c| c.actual_total_ms.unwrap_or(0.0) * c.loops.unwrap_or(1.0))
                .sum();
            (all - kids).max(0.0)
        }
        None => {
            let kids: f64 = children.iter().map(|c| c.total_cost).sum();
            (total_cost - kids).max(0.0)
        }
    };
    // As psql names it: `Delete` rather than `ModifyTable`.
    let node_type = match (s("Node Type")?, s("Operation")) {
        (t, Some(op)) if t == "ModifyTable" => op,
        (t, _) => t,
    };
    Some(PlanNode {
        node_type,
        relation,
        index: s("Index Name"),
        details,
        startup_cost: f("Startup Cost").unwrap_or(0.0),
        total_cost,
        plan_rows: f("Plan Rows").unwrap_or(0.0),
        actual_total_ms,
        actual_rows: f("Actual Rows"),
        loops,
        self_weight,
        slowest: false,
        children,
    })
}

fn mark_slowest(root: &mut PlanNode) {
    fn max(n: &PlanNode) -> f64 {
        n.children.iter().map(max).fold(n.self_weight, f64::max)
    }
    fn mark(n: &mut PlanNode, top: f64) -> bool {
        if n.self_weight >= top {
            n.slowest = true;
            return true;
        }
        n.children.iter_mut().any(|c| mark(c, top))
    }
    let top = max(root);
    mark(root, top);
}

/// The plan as indented text lines, one per node, the slowest marked with `◀ slowest`.
pub fn render(plan: &Plan) -> Vec<String> {
    fn walk(n: &PlanNode, depth: usize, out: &mut Vec<String>) {
        let indent = if depth == 0 {
            String::new()
        } else {
            format!("{}-> ", "   ".repeat(depth - 1))
        };
        let mut line = format!("{indent}{}", n.node_type);
        if let Some(r) = &n.relation {
            line.push_str(&format!(" on {r}"));
        }
        if let Some(i) = &n.index {
            line.push_str(&format!(" using {i}"));
        }
        line.push_str(&format!(
            "  (cost={:.2}..{:.2} rows={})",
            n.startup_cost, n.total_cost, n.plan_rows
        ));
        if let (Some(t), Some(r)) = (n.actual_total_ms, n.actual_rows) {
            line.push_str(&format!(
                " (actual time={t:.3} ms rows={r} loops={})",
                n.loops.unwrap_or(1.0)
            ));
        }
        if n.slowest {
            line.push_str("  ◀ slowest");
        }
        out.push(line);
        let pad = "   ".repeat(depth + 1);
        for (k, v) in &n.details {
            if matches!(
                k.as_str(),
                "Filter"
                    | "Index Cond"
                    | "Hash Cond"
                    | "Merge Cond"
                    | "Join Filter"
                    | "Sort Key"
                    | "Group Key"
                    | "Rows Removed by Filter"
            ) {
                out.push(format!("{pad}{k}: {v}"));
            }
        }
        for c in &n.children {
            walk(c, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(&plan.root, 0, &mut out);
    if let Some(p) = plan.planning_ms {
        out.push(format!("Planning time: {p:.3} ms"));
    }
    if let Some(e) = plan.execution_ms {
        out.push(format!("Execution time: {e:.3} ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_node_with_the_most_time_of_its_own_is_the_slowest() {
        let v = json!([{
            "Plan": {
                "Node Type": "Hash Join", "Startup Cost": 1.0, "Total Cost": 50.0, "Plan Rows": 10,
                "Actual Total Time": 12.0, "Actual Rows": 10, "Actual Loops": 1,
                "Hash Cond": "(a.id = b.id)",
                "Plans": [
                    {"Node Type": "Seq Scan", "Relation Name": "relations", "Alias": "r",
                     "Startup Cost": 0.0, "Total Cost": 30.0, "Plan Rows": 300,
                     "Actual Total Time": 9.0, "Actual Rows": 300, "Actual Loops": 1,
                     "Filter": "(type = 'ownedBy')"},
                    {"Node Type": "Hash", "Startup Cost": 0.0, "Total Cost": 5.0, "Plan Rows": 5,
                     "Actual Total Time": 0.5, "Actual Rows": 5, "Actual Loops": 2,
                     "Plans": [{"Node Type": "Index Scan", "Relation Name": "refresh_state",
                                "Index Name": "refresh_state_pkey", "Startup Cost": 0.0,
                                "Total Cost": 4.0, "Plan Rows": 5, "Actual Total Time": 0.2,
                                "Actual Rows": 5, "Actual Loops": 2}]}
                ]
            },
            "Planning Time": 0.3, "Execution Time": 12.5
        }]);
        let p = parse(&v).unwrap();
        assert!(p.analyzed);
        assert_eq!(p.execution_ms, Some(12.5));
        let scan = &p.root.children[0];
        assert_eq!(scan.relation.as_deref(), Some("relations r"));
        assert!(
            scan.slowest,
            "9 ms of its own beats the join's 12 - 9 - 1 = 2 ms"
        );
        assert!(!p.root.slowest);
        assert_eq!(p.root.self_weight, 2.0);
        assert!(
            p.root
                .details
                .contains(&("Hash Cond".into(), "(a.id = b.id)".into()))
        );
        let lines = render(&p);
        assert!(lines[0].starts_with("Hash Join"));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Seq Scan on relations r") && l.ends_with("◀ slowest"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Filter: (type = 'ownedBy')"))
        );
        assert_eq!(lines.last().unwrap(), "Execution time: 12.500 ms");
    }

    #[test]
    fn without_analyze_cost_decides_and_a_bad_answer_is_no_plan() {
        let v = json!([{"Plan": {"Node Type": "Sort", "Total Cost": 100.0, "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "tasks", "Total Cost": 20.0}]}}]);
        let p = parse(&v).unwrap();
        assert!(!p.analyzed);
        assert!(p.root.slowest, "the sort's own 80 beats the scan's 20");
        assert!(parse(&json!("not a plan")).is_none());
        assert!(parse(&json!([{"Plan": {"no": "type"}}])).is_none());
    }
}
