//! `bsi graph REF...`, `bsi broken-refs` and `bsi path A B`: the catalog's relations as a
//! neighbourhood graph (table, JSON, Graphviz DOT or Mermaid), the relations that point at
//! entities that do not exist, and the shortest relation path between two entities.

use bsi_core::Result;
use bsi_core::graph::{
    BrokenRefsOptions, DEFAULT_BROKEN_SAMPLES, DEFAULT_DEPTH, DEFAULT_MAX_NODES,
    DEFAULT_PATH_DEPTH, Direction, Graph, GraphOptions, NodeStatus, PathOptions, RelationGraph,
};

use crate::global::Global;
use crate::{context, output};

#[derive(Debug, clap::Subcommand)]
pub enum GraphCommand {
    /// The relation neighbourhood of one or more entities.
    Graph(GraphArgs),
    /// Relations whose target is not an entity of the catalog, grouped by missing target.
    BrokenRefs {
        /// Missing targets per page (1-1000, default 100).
        #[arg(long)]
        limit: Option<usize>,
        /// The next_cursor printed by the previous page.
        #[arg(long)]
        cursor: Option<String>,
        /// Referring relations listed per missing target (0-1000).
        #[arg(long, default_value_t = DEFAULT_BROKEN_SAMPLES)]
        samples: usize,
    },
    /// The shortest chain of relations from entity A to entity B ("why does A depend on B").
    Path {
        /// Start entity: kind:namespace/name, or kind:name in the default namespace.
        from: String,
        /// End entity.
        to: String,
        /// Most relation hops to try (1-12).
        #[arg(long, default_value_t = DEFAULT_PATH_DEPTH)]
        max_depth: usize,
        /// Follow only this relation type (repeatable), e.g. dependsOn.
        #[arg(long = "type", value_name = "TYPE")]
        types: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DirectionArg {
    /// Relations the entity states (rows whose source it is).
    Out,
    /// Relations stated towards it (rows whose target it is).
    In,
    /// Both, each fact shown once.
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Table,
    Json,
    Dot,
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Entities to start from: kind:namespace/name, or kind:name in the default namespace.
    #[arg(required = true, value_name = "REF")]
    pub refs: Vec<String>,
    /// Relation hops from the start entities (0-10).
    #[arg(long, default_value_t = DEFAULT_DEPTH)]
    pub depth: usize,
    /// Follow only this relation type (repeatable), e.g. ownedBy, dependsOn, memberOf.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Keep only neighbours of this kind (repeatable), e.g. component.
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
    pub direction: DirectionArg,
    /// Stop adding entities at this many; where it cut is reported.
    #[arg(long, default_value_t = DEFAULT_MAX_NODES)]
    pub max_nodes: usize,
    /// Output format (default: table, or json with --json).
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,
}

pub async fn run(global: &Global, cmd: GraphCommand) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = async {
        let rg = RelationGraph::open(&conns).await?;
        match cmd {
            GraphCommand::Graph(a) => graph(global, &rg, a).await,
            GraphCommand::BrokenRefs {
                limit,
                cursor,
                samples,
            } => broken_refs(global, &rg, limit, cursor, samples).await,
            GraphCommand::Path {
                from,
                to,
                max_depth,
                types,
            } => path(global, &rg, &from, &to, max_depth, types).await,
        }
    }
    .await;
    conns.close().await;
    result
}

fn status_word(s: NodeStatus) -> &'static str {
    match s {
        NodeStatus::Ok => "ok",
        NodeStatus::Errored => "ERRORED",
        NodeStatus::Missing => "MISSING",
    }
}

async fn graph(global: &Global, rg: &RelationGraph, a: GraphArgs) -> Result<()> {
    let opts = GraphOptions {
        roots: a.refs,
        depth: a.depth,
        types: a.types,
        kinds: a.kinds,
        direction: match a.direction {
            DirectionArg::Out => Direction::Out,
            DirectionArg::In => Direction::In,
            DirectionArg::Both => Direction::Both,
        },
        max_nodes: a.max_nodes,
    };
    let g = rg.neighbourhood(&opts).await?;
    let format = a.format.unwrap_or(if global.json {
        GraphFormat::Json
    } else {
        GraphFormat::Table
    });
    match format {
        GraphFormat::Json => output::json(&g),
        GraphFormat::Dot => {
            out!("{}", g.to_dot());
            warn_cut(&g);
            Ok(())
        }
        GraphFormat::Mermaid => {
            out!("{}", g.to_mermaid());
            warn_cut(&g);
            Ok(())
        }
        GraphFormat::Table => {
            print_table(&g);
            Ok(())
        }
    }
}

/// For DOT and Mermaid (stdout is the diagram): the cut and notes go to stderr.
fn warn_cut(g: &Graph) {
    if let Some(t) = &g.truncated {
        errln!(
            "note: cut at {} entities; {} relations to {} more entities left out (raise --max-nodes or filter with --type/--kind)",
            t.max_nodes,
            t.dropped_edges,
            t.nodes.iter().map(|n| n.unexpanded).sum::<usize>()
        );
    }
    for n in &g.notes {
        errln!("note: {n}");
    }
}

fn print_table(g: &Graph) {
    output::table(
        &["depth", "entity", "status", "title"],
        g.nodes
            .iter()
            .map(|n| {
                vec![
                    n.depth.to_string(),
                    n.entity_ref.clone(),
                    status_word(n.status).to_string(),
                    n.title.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    outln!();
    if g.edges.is_empty() {
        outln!("No relations.");
    } else {
        output::table(
            &["source", "type", "target"],
            g.edges
                .iter()
                .map(|e| vec![e.source.clone(), e.relation.clone(), e.target.clone()])
                .collect(),
        );
    }
    let missing = g
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Missing)
        .count();
    let errored = g
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Errored)
        .count();
    outln!(
        "\n{} entities ({missing} missing, {errored} errored), {} relations, depth {}, direction {}.",
        g.nodes.len(),
        g.edges.len(),
        g.depth,
        g.direction
    );
    if let Some(t) = &g.truncated {
        outln!(
            "Cut at {} entities: {} relations left out. Not fully expanded:",
            t.max_nodes,
            t.dropped_edges
        );
        for n in t.nodes.iter().take(20) {
            outln!("  {} ({} more neighbours)", n.entity_ref, n.unexpanded);
        }
        if t.nodes.len() > 20 {
            outln!("  ... and {} more", t.nodes.len() - 20);
        }
        outln!("Raise --max-nodes, or narrow with --type, --kind or --direction.");
    }
    for n in &g.notes {
        outln!("Note: {n}");
    }
}

async fn broken_refs(
    global: &Global,
    rg: &RelationGraph,
    limit: Option<usize>,
    cursor: Option<String>,
    samples: usize,
) -> Result<()> {
    let page = rg
        .broken_refs(&BrokenRefsOptions {
            limit,
            cursor,
            samples,
        })
        .await?;
    if global.json {
        return output::json(&page);
    }
    if page.items.is_empty() {
        outln!("No broken references: every relation points at an entity of the catalog.");
        return Ok(());
    }
    let mut rows = Vec::new();
    for t in &page.items {
        let first = t.relations.first();
        rows.push(vec![
            t.target.clone(),
            status_word(t.status).to_string(),
            t.count.to_string(),
            first
                .map(|r| format!("{} {}", r.source, r.relation))
                .unwrap_or_default(),
        ]);
        for r in t.relations.iter().skip(1) {
            rows.push(vec![
                String::new(),
                String::new(),
                String::new(),
                format!("{} {}", r.source, r.relation),
            ]);
        }
        if (t.relations.len() as i64) < t.count && !t.relations.is_empty() {
            rows.push(vec![
                String::new(),
                String::new(),
                String::new(),
                format!("... {} more", t.count - t.relations.len() as i64),
            ]);
        }
    }
    output::table(
        &["missing target", "status", "refs", "referred to by"],
        rows,
    );
    outln!(
        "\nMISSING: no such entity. ERRORED: the catalog knows it but its processing fails (see its errors)."
    );
    if let Some(c) = &page.next_cursor {
        outln!(
            "More: {}",
            global.rerun_line(&["--cursor"], &["--cursor", c])
        );
    }
    Ok(())
}

async fn path(
    global: &Global,
    rg: &RelationGraph,
    from: &str,
    to: &str,
    max_depth: usize,
    types: Vec<String>,
) -> Result<()> {
    let p = rg.path(from, to, &PathOptions { max_depth, types }).await?;
    if global.json {
        return output::json(&p);
    }
    if p.found && !p.steps.is_empty() {
        output::table(
            &["#", "source", "type", "target"],
            p.steps
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    vec![
                        (i + 1).to_string(),
                        s.source.clone(),
                        s.relation.clone(),
                        s.target.clone(),
                    ]
                })
                .collect(),
        );
        outln!();
    }
    outln!("{}", p.message);
    for n in &p.notes {
        outln!("Note: {n}");
    }
    Ok(())
}
