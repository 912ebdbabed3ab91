//! `bsi search`, `bsi techdocs`, `bsi tables`, `bsi table NAME` and `bsi export`: the search
//! index, TechDocs, any table of any plugin database, and streamed CSV/JSON exports. Secrets are
//! masked by the core before anything is printed or written.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use bsi_core::export::{self, AtomicFile, EntityExport, ExportFormat, ExportSummary};
use bsi_core::search::{self, SearchQuery};
use bsi_core::tables::{self, Filter, TableQuery, Target};
use bsi_core::techdocs::{self, TechDocsQuery};
use bsi_core::{CoreError, Result};
use serde_json::Value;

use crate::global::Global;
use crate::signals::interrupt;
use crate::{context, output};

#[derive(Debug, clap::Subcommand)]
pub enum BrowseCommand {
    /// Full-text search of the search index (search-backend-module-pg's `documents`), best
    /// matches first, with the matching words highlighted.
    Search(SearchArgs),
    /// Catalog entities with TechDocs (backstage.io/techdocs-ref), and whether the search index
    /// has their pages. TechDocs metadata itself is a file per site, not a table.
    Techdocs(PageArgs),
    /// The tables of the plugin databases: kind, estimated rows, size, primary key, columns.
    Tables {
        #[command(flatten)]
        place: PlaceArgs,
        /// `size`: one list of the tables of every database looked in, largest first (total
        /// size with indexes and TOAST); `name` (default): per database, by name.
        #[arg(long, value_enum, default_value_t = TablesSort::Name)]
        sort: TablesSort,
        /// Also print every table's columns (masked ones are marked).
        #[arg(long)]
        columns: bool,
    },
    /// Page through any table, sorted by any column and filtered; secrets are masked.
    Table(TableArgs),
    /// Export a table or the catalog's entities as CSV or JSON, streamed.
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct PageArgs {
    /// Rows per page (1-1000, default 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// The cursor printed by the previous page.
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words to search for; "quoted phrases", `or` and -excluded words work as on the web.
    #[arg(required = true, num_args = 1.., value_name = "QUERY")]
    pub query: Vec<String>,
    /// Only documents of this type (software-catalog, techdocs...; the output's first line
    /// lists the types of the index).
    #[arg(long = "type", value_name = "TYPE")]
    pub doc_type: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Where a table is: by plugin area or by database; neither looks in every plugin database.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PlaceArgs {
    /// A database on the profile's server.
    #[arg(long, conflicts_with = "area")]
    pub database: Option<String>,
    /// A plugin area (plugin id): catalog, scaffolder, auth, search, notifications, events, app.
    #[arg(long)]
    pub area: Option<String>,
    /// The schema in --database (default public).
    #[arg(long, requires = "database")]
    pub schema: Option<String>,
}

impl PlaceArgs {
    pub(crate) fn target(&self) -> Target {
        match (&self.database, &self.area) {
            (Some(database), _) => Target::Database {
                database: database.clone(),
                schema: self.schema.clone(),
            },
            (None, Some(area)) => Target::Area { area: area.clone() },
            (None, None) => Target::Anywhere,
        }
    }
}

/// Sort and filters of a table.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RowArgs {
    /// Sort by this column (default: the primary key).
    #[arg(long, value_name = "COL")]
    pub sort: Option<String>,
    /// Descending order.
    #[arg(long)]
    pub desc: bool,
    /// COL=VALUE (equals), COL~VALUE (contains, any case), COL>VALUE, COL<VALUE, COL:null,
    /// COL:notnull. Repeat for several (all must hold).
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
}

impl RowArgs {
    fn query(&self, page: &PageArgs) -> Result<TableQuery> {
        Ok(TableQuery {
            sort: self.sort.clone(),
            desc: self.desc,
            filters: self
                .filters
                .iter()
                .map(|f| f.parse::<Filter>())
                .collect::<Result<_>>()?,
            limit: page.limit,
            cursor: page.cursor.clone(),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct TableArgs {
    /// The table's name.
    pub name: String,
    #[command(flatten)]
    pub place: PlaceArgs,
    #[command(flatten)]
    pub rows: RowArgs,
    #[command(flatten)]
    pub page: PageArgs,
    /// Only print these columns (comma separated); --json always prints every column.
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// csv (RFC 4180) or json.
    #[arg(long, default_value = "csv", value_name = "FORMAT")]
    pub format: String,
    /// Write to this file (atomically: a temporary file renamed into place, removed if the
    /// export fails or is interrupted; a FIFO or /dev/null is written into as it is); default
    /// stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// Every row of a table (with the filters and sort given), secrets masked.
    Table {
        /// The table's name.
        name: String,
        #[command(flatten)]
        place: PlaceArgs,
        #[command(flatten)]
        rows: RowArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// The catalog's entities: ref, kind, namespace, name, title, type, lifecycle, owner, system,
    /// tags, description, last update (with --full, the whole entity).
    Entities {
        /// Only this kind (repeat or separate with commas).
        #[arg(long, value_delimiter = ',')]
        kind: Vec<String>,
        #[arg(long)]
        namespace: Option<String>,
        /// Only entity refs containing this text.
        #[arg(long, value_name = "TEXT")]
        contains: Option<String>,
        /// Add the whole entity (JSON) as the `entity` column.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
}

pub async fn run(global: &Global, cmd: BrowseCommand) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = async {
        match cmd {
            BrowseCommand::Search(args) => search_cmd(global, &conns, args).await,
            BrowseCommand::Techdocs(page) => techdocs_cmd(global, &conns, page).await,
            BrowseCommand::Tables {
                place,
                columns,
                sort,
            } => {
                if matches!(sort, TablesSort::Size) {
                    return tables_by_size(global, &conns, &place).await;
                }
                tables_cmd(global, &conns, &place, columns).await
            }
            BrowseCommand::Table(args) => table_cmd(global, &conns, args).await,
            BrowseCommand::Export(cmd) => export_cmd(&conns, cmd).await,
        }
    }
    .await;
    conns.close().await;
    result
}

fn more(global: &Global, next: Option<&str>) {
    if let Some(c) = next {
        outln!(
            "\nMore: {}",
            global.rerun_line(&["--cursor"], &["--cursor", c])
        );
    }
}

/// One line, at most `max` characters.
fn short(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > max {
        format!(
            "{}…",
            flat.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    } else {
        flat
    }
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A search snippet with its matches marked, its data made safe with `output::sanitize`.
fn highlight(s: &str) -> String {
    let s = &output::sanitize(s);
    if color() {
        search::render_highlight(s, "\x1b[1;33m", "\x1b[0m")
    } else {
        search::render_highlight(s, "**", "**")
    }
}

async fn search_cmd(
    global: &Global,
    conns: &bsi_core::connect::Connections,
    a: SearchArgs,
) -> Result<()> {
    let q = SearchQuery {
        query: a.query.join(" "),
        doc_type: a.doc_type,
        limit: a.page.limit.or(Some(20)),
        cursor: a.page.cursor,
    };
    let r = search::search(conns, &q).await?;
    if global.json {
        return output::json(&r);
    }
    if let Some(n) = &r.notice {
        outln!("{n}");
    }
    // The index's make-up is extra: when it cannot be read (a connection limit, say), say so
    // rather than calling an index that just answered "empty".
    let types = match search::document_types(conns).await {
        Ok(types) if types.is_empty() => "empty".to_string(),
        Ok(types) => types
            .iter()
            .map(|t| format!("{} {}", t.doc_type, t.count))
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("document counts not read: {}", e.code().as_str()),
    };
    // The words as typed: the tsquery holds their stems (`servic` for "services").
    outln!(
        "{} match{} for \"{}\"{} (index: {})",
        r.total,
        if r.total == 1 { "" } else { "es" },
        r.query.trim(),
        if r.tsquery.is_empty() {
            " (nothing searchable: only common words)"
        } else {
            ""
        },
        types
    );
    for h in &r.page.items {
        // The data parts are made safe here; the line keeps the highlight's colours.
        outln_raw!(
            "\n[{}] {}  {}  (rank {:.3})",
            output::sanitize(&h.doc_type),
            highlight(&short(&h.title_highlight, 100)),
            output::sanitize(h.location.as_deref().unwrap_or("-")),
            h.rank
        );
        if !h.text_highlight.trim().is_empty() {
            outln_raw!("    {}", highlight(&short(&h.text_highlight, 300)));
        }
    }
    more(global, r.page.next_cursor.as_deref());
    Ok(())
}

async fn techdocs_cmd(
    global: &Global,
    conns: &bsi_core::connect::Connections,
    page: PageArgs,
) -> Result<()> {
    let l = techdocs::list(
        conns,
        &TechDocsQuery {
            limit: page.limit,
            cursor: page.cursor,
        },
    )
    .await?;
    if global.json {
        return output::json(&l);
    }
    output::table(
        &["entity", "techdocs-ref", "search pages"],
        l.page
            .items
            .iter()
            .map(|e| {
                vec![
                    e.entity_ref.clone(),
                    short(&e.techdocs_ref, 60),
                    e.search_documents
                        .map_or("?".to_string(), |n| n.to_string()),
                ]
            })
            .collect(),
    );
    for e in l.page.items.iter().filter(|e| e.problem.is_some()) {
        outln!(
            "note: {}: {}",
            e.entity_ref,
            e.problem.as_deref().unwrap_or_default()
        );
    }
    outln!("\n{} entities have TechDocs.", l.total);
    if let Some(reason) = &l.search.reason {
        outln!("Search index not read: {reason}");
    }
    outln!("\nnote: {}", l.metadata);
    more(global, l.page.next_cursor.as_deref());
    Ok(())
}

/// How `bsi tables` orders its tables.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum TablesSort {
    /// Per database, by name.
    #[default]
    Name,
    /// Every database together, largest first.
    Size,
}

/// The tables of every database looked in, largest first.
async fn tables_by_size(
    global: &Global,
    conns: &bsi_core::connect::Connections,
    place: &PlaceArgs,
) -> Result<()> {
    let list = tables::list_tables(conns, &place.target()).await?;
    let sorted = tables::largest_first(&list);
    if global.json {
        return output::json(&sorted);
    }
    let total: i64 = sorted.iter().map(|t| t.size_bytes).sum();
    outln!(
        "{} table(s) in {} database(s), {} in all, largest first:",
        sorted.len(),
        list.iter().filter(|s| s.error.is_none()).count(),
        output::human_size(Some(total))
    );
    output::table(
        &["database", "table", "kind", "rows (est.)", "size"],
        sorted
            .iter()
            .map(|t| {
                vec![
                    t.scope.clone(),
                    t.name.clone(),
                    t.kind.clone(),
                    if t.estimated_rows < 0 {
                        "?".to_string()
                    } else {
                        t.estimated_rows.to_string()
                    },
                    output::human_size(Some(t.size_bytes)),
                ]
            })
            .collect(),
    );
    for s in list.iter().filter(|s| s.error.is_some()) {
        outln!(
            "{}: unreadable: {}",
            s.scope.label(),
            s.error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn tables_cmd(
    global: &Global,
    conns: &bsi_core::connect::Connections,
    place: &PlaceArgs,
    columns: bool,
) -> Result<()> {
    let list = tables::list_tables(conns, &place.target()).await?;
    if global.json {
        return output::json(&list);
    }
    if list.is_empty() {
        outln!(
            "No plugin database found (check the profile, --prefix or --schema-mode; `{}` lists them).",
            global.same_run_line(&["databases".into()])
        );
    }
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        match &s.scope.area {
            Some(a) => outln!("{} (area {a})", s.scope.label()),
            None => outln!("{}", s.scope.label()),
        }
        if let Some(e) = &s.error {
            outln!("  unreadable: {}", e.message);
            continue;
        }
        output::table(
            &[
                "table",
                "kind",
                "rows (est.)",
                "size",
                "columns",
                "primary key",
            ],
            s.tables
                .iter()
                .map(|t| {
                    vec![
                        t.name.clone(),
                        t.kind.clone(),
                        if t.estimated_rows < 0 {
                            "?".to_string()
                        } else {
                            t.estimated_rows.to_string()
                        },
                        output::human_size(Some(t.size_bytes)),
                        t.columns.len().to_string(),
                        if t.primary_key.is_empty() {
                            "-".to_string()
                        } else {
                            t.primary_key.join(", ")
                        },
                    ]
                })
                .collect(),
        );
        if columns {
            for t in &s.tables {
                outln!("\n  {}", t.name);
                for c in &t.columns {
                    outln!(
                        "    {:<32} {}{}{}",
                        c.name,
                        c.data_type,
                        if c.nullable { "" } else { " not null" },
                        if c.masked { "  (masked)" } else { "" }
                    );
                }
            }
        }
    }
    Ok(())
}

fn cell(v: &Value, render: &str) -> String {
    match v {
        Value::Null => "NULL".to_string(),
        Value::String(s) => short(s, 48),
        Value::Object(m) if render == "bytea" => format!(
            "\\x{}{} ({} bytes)",
            short(m.get("hex").and_then(Value::as_str).unwrap_or_default(), 16),
            if m.get("truncated").and_then(Value::as_bool).unwrap_or(false) {
                "…"
            } else {
                ""
            },
            m.get("length").and_then(Value::as_i64).unwrap_or(0)
        ),
        // Text longer than a page shows: its start and its length.
        Value::Object(m)
            if m.get("truncated").and_then(Value::as_bool) == Some(true)
                && m.get("text").is_some_and(Value::is_string) =>
        {
            format!(
                "{}… ({} characters)",
                short(
                    m.get("text").and_then(Value::as_str).unwrap_or_default(),
                    32
                ),
                m.get("length").and_then(Value::as_i64).unwrap_or(0)
            )
        }
        other => short(&other.to_string(), 48),
    }
}

async fn table_cmd(
    global: &Global,
    conns: &bsi_core::connect::Connections,
    a: TableArgs,
) -> Result<()> {
    let q = a.rows.query(&a.page)?;
    let p = tables::browse(conns, &a.place.target(), &a.name, &q).await?;
    if global.json {
        return output::json(&p);
    }
    let shown: Vec<&tables::ColumnMeta> = if a.columns.is_empty() {
        p.columns.iter().collect()
    } else {
        let mut out = Vec::new();
        for name in &a.columns {
            match p.columns.iter().find(|c| &c.name == name) {
                Some(c) => out.push(c),
                None => {
                    return Err(CoreError::config(format!(
                        "table `{}` has no column `{name}`; its columns are {}",
                        p.table,
                        p.columns
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        out
    };
    outln!(
        "{} · {} ({}, {}) · sorted by {} {}{}",
        p.scope.label(),
        p.table,
        p.kind,
        if p.estimated_rows < 0 {
            "rows not yet estimated".to_string()
        } else {
            format!("~{} rows", p.estimated_rows)
        },
        p.order.join(", "),
        if p.desc { "desc" } else { "asc" },
        if q.filters.is_empty() {
            String::new()
        } else {
            format!(
                " · where {}",
                q.filters
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        }
    );
    let headers: Vec<&str> = shown.iter().map(|c| c.name.as_str()).collect();
    output::table(
        &headers,
        p.page
            .items
            .iter()
            .map(|r| {
                shown
                    .iter()
                    .map(|c| cell(r.get(&c.name).unwrap_or(&Value::Null), c.render))
                    .collect()
            })
            .collect(),
    );
    if p.page.items.is_empty() {
        outln!("(no rows)");
    }
    let masked: Vec<&str> = p
        .columns
        .iter()
        .filter(|c| c.masked)
        .map(|c| c.name.as_str())
        .collect();
    if !masked.is_empty() {
        outln!("\nnote: {} always masked", masked.join(", "));
    }
    more(global, p.page.next_cursor.as_deref());
    Ok(())
}

/// Where an export goes: stdout, or a file that appears complete or not at all.
enum Sink {
    Stdout(BufWriter<std::io::Stdout>),
    File(BufWriter<AtomicFile>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::File(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::File(w) => w.flush(),
        }
    }
}

async fn export_cmd(conns: &bsi_core::connect::Connections, cmd: ExportCommand) -> Result<()> {
    let out = match &cmd {
        ExportCommand::Table { out, .. } | ExportCommand::Entities { out, .. } => out.clone(),
    };
    let format: ExportFormat = out.format.parse()?;
    let mut sink = match &out.output {
        Some(path) => Sink::File(BufWriter::new(AtomicFile::create(path)?)),
        None => Sink::Stdout(BufWriter::new(std::io::stdout())),
    };
    let to_file = matches!(sink, Sink::File(_));
    let export = async {
        match cmd {
            ExportCommand::Table {
                name, place, rows, ..
            } => {
                let q = rows.query(&PageArgs::default())?;
                export::export_table(conns, &place.target(), &name, &q, format, &mut sink).await
            }
            ExportCommand::Entities {
                kind,
                namespace,
                contains,
                full,
                ..
            } => {
                let q = EntityExport {
                    kinds: kind,
                    namespace,
                    contains,
                    full,
                };
                export::export_entities(conns, &q, format, &mut sink).await
            }
        }
    };
    let res: Result<ExportSummary> = if to_file {
        // Interrupted, the export stops and its temporary file is removed (dropped) before
        // exiting as the signal would: 128 + its number.
        let interrupted = tokio::select! {
            res = export => Ok(res),
            code = interrupt() => Err(code),
        };
        match interrupted {
            Ok(res) => res,
            Err(code) => {
                drop(sink);
                errln!("Export interrupted; nothing was written.");
                std::process::exit(code);
            }
        }
    } else {
        export.await
    };
    let summary = match res {
        Ok(s) => s,
        // `bsi export ... | head`: the reader stopped reading; that is not a failure.
        Err(CoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    match sink {
        Sink::Stdout(mut w) => match w.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(CoreError::io("cannot write to", "standard output", e));
            }
            _ => {}
        },
        Sink::File(w) => {
            let file = w.into_inner().map_err(|e| {
                CoreError::io(
                    "cannot write",
                    out.output.clone().unwrap_or_default(),
                    e.into_error(),
                )
            })?;
            let path = file.path().to_path_buf();
            file.commit()?;
            errln!(
                "Exported {} rows ({}) to {}.",
                summary.rows,
                summary.format,
                path.display()
            );
        }
    }
    Ok(())
}
