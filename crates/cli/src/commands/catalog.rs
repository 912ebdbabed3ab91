//! `bsi entities`, `bsi entity REF`, `bsi errors`, `bsi orphans`, `bsi stale` and
//! `bsi locations`: the software catalog read from its tables. Lists are paged: pass the printed
//! cursor back with `--cursor` for the next page.

use bsi_core::Result;
use bsi_core::catalog::{
    self, Catalog, EntityFilter, EntityQuery, EntitySort, FacetField, Facets, ListQuery,
    RelationEdge,
};

use bsi_core::connect::Connections;
use bsi_core::crosslinks::{self, EntityView};
use bsi_core::{ErrorPayload, auth::UserSessions, scaffolder::EntityTasks};

use crate::global::{Global, shell_word};
use crate::{context, output};

#[derive(Debug, clap::Subcommand)]
pub enum CatalogCommand {
    /// Catalog entities, filtered and sorted, a page at a time (with --facets: counts per value).
    Entities(EntitiesArgs),
    /// One entity: its relations both ways, processing state, orphan status; --yaml for the
    /// entity itself.
    Entity {
        /// kind:namespace/name, or kind:name for namespace `default` (case-insensitive).
        #[arg(value_name = "REF")]
        entity_ref: String,
        /// Print only the entity as YAML.
        #[arg(long)]
        yaml: bool,
    },
    /// Entities whose processing failed, including those that never reached the catalog.
    Errors(PageArgs),
    /// Orphaned entities: no longer emitted by their parent, or annotated backstage.io/orphan.
    Orphans(PageArgs),
    /// Entities not discovered or not refreshed for longer than a duration.
    Stale {
        /// How old counts as stale: 90s, 30m, 24h, 7d, 2w, 1d12h...
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        older_than: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Registered locations and the status of their latest update.
    Locations(PageArgs),
}

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum SortArg {
    /// By entity ref.
    #[default]
    Ref,
    /// By last update of the stitched entity.
    Updated,
}

#[derive(Debug, clap::Args)]
pub struct EntitiesArgs {
    /// Only this kind (repeat or separate with commas for several).
    #[arg(long, value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Only this namespace (metadata.namespace).
    #[arg(long, value_delimiter = ',')]
    pub namespace: Vec<String>,
    /// The owner, in any spelling: team-a, default/team-a, group:team-a or
    /// group:default/team-a (the ownedBy relation, or spec.owner as written).
    #[arg(long, value_delimiter = ',')]
    pub owner: Vec<String>,
    /// The system, in any spelling: payments or system:default/payments (the partOf
    /// relation to a system, or spec.system as written).
    #[arg(long, value_delimiter = ',')]
    pub system: Vec<String>,
    /// spec.lifecycle (production, experimental, deprecated...).
    #[arg(long, value_delimiter = ',')]
    pub lifecycle: Vec<String>,
    /// spec.type (service, website, openapi...).
    #[arg(long = "type", value_name = "TYPE", value_delimiter = ',')]
    pub entity_type: Vec<String>,
    /// Entities carrying this tag (metadata.tags).
    #[arg(long, value_delimiter = ',')]
    pub tag: Vec<String>,
    /// Words that must each appear in the name, title or description.
    #[arg(long, value_name = "QUERY")]
    pub text: Option<String>,
    #[arg(long, value_enum, default_value_t = SortArg::Ref)]
    pub sort: SortArg,
    /// Descending order.
    #[arg(long)]
    pub desc: bool,
    #[command(flatten)]
    pub page: PageArgs,
    /// Also count the entities per kind, namespace, owner, lifecycle, type and tag.
    #[arg(long)]
    pub facets: bool,
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

impl PageArgs {
    fn query(&self) -> ListQuery {
        ListQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

pub async fn run(global: &Global, cmd: CatalogCommand) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = async {
        let cat = Catalog::open(&conns).await?;
        match cmd {
            CatalogCommand::Entities(args) => entities(global, &cat, args).await,
            CatalogCommand::Entity { entity_ref, yaml } => {
                entity(global, &conns, &cat, &entity_ref, yaml).await
            }
            CatalogCommand::Errors(page) => errors(global, &cat, &page).await,
            CatalogCommand::Orphans(page) => orphans(global, &cat, &page).await,
            CatalogCommand::Stale { older_than, page } => {
                stale(global, &cat, &older_than, &page).await
            }
            CatalogCommand::Locations(page) => locations(global, &cat, &page).await,
        }
    }
    .await;
    conns.close().await;
    result
}

fn dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_string()
}

/// The first line of a message, at most `max` characters.
fn short(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

fn more(global: &Global, next: Option<&str>) {
    if let Some(c) = next {
        outln!(
            "\nMore: {}",
            global.rerun_line(&["--cursor"], &["--cursor", c])
        );
    }
}

fn absent_note(cat: &Catalog, view: &str) {
    if let Some(v) = cat.capabilities().view(view)
        && !v.absent_fields.is_empty()
    {
        let fields: Vec<String> = v
            .absent_fields
            .iter()
            .map(|f| match bsi_core::catalog::absent_field_origin(f) {
                Some(origin) => format!("{f} ({origin})"),
                None => f.clone(),
            })
            .collect();
        outln!(
            "\nnote: this catalog's schema has no {}; shown as -",
            fields.join(", ")
        );
    }
}

async fn entities(global: &Global, cat: &Catalog, a: EntitiesArgs) -> Result<()> {
    let filter = EntityFilter {
        kind: a.kind,
        namespace: a.namespace,
        owner: a.owner,
        lifecycle: a.lifecycle,
        entity_type: a.entity_type,
        tag: a.tag,
        system: a.system,
        text: a.text,
    };
    let q = EntityQuery {
        filter: filter.clone(),
        sort: match a.sort {
            SortArg::Ref => EntitySort::Ref,
            SortArg::Updated => EntitySort::Updated,
        },
        descending: a.desc,
        limit: a.page.limit,
        cursor: a.page.cursor,
    };
    let page = cat.entities(&q).await?;
    let facets = if a.facets {
        Some(cat.facets(&filter, &[]).await?)
    } else {
        None
    };
    if global.json {
        return output::json(&serde_json::json!({
            "items": page.items,
            "next_cursor": page.next_cursor,
            "facets": facets.map(|f| f.facets),
        }));
    }
    if page.items.is_empty() {
        outln!("No entities match.");
    } else {
        output::table(
            &[
                "ref",
                "type",
                "lifecycle",
                "owner",
                "system",
                "tags",
                "updated",
            ],
            page.items
                .iter()
                .map(|e| {
                    vec![
                        e.entity_ref.clone(),
                        dash(e.entity_type.as_deref()),
                        dash(e.lifecycle.as_deref()),
                        dash(e.owner.as_deref()),
                        dash(e.system.as_deref()),
                        if e.tags.is_empty() {
                            "-".into()
                        } else {
                            e.tags.join(",")
                        },
                        dash(e.last_updated_at.as_deref()),
                    ]
                })
                .collect(),
        );
    }
    for e in page.items.iter().filter(|e| e.problem.is_some()) {
        outln!(
            "note: {}: {}",
            e.entity_ref,
            e.problem.as_deref().unwrap_or_default()
        );
    }
    if let Some(f) = facets {
        print_facets(&f);
    }
    more(global, page.next_cursor.as_deref());
    absent_note(cat, catalog::views::ENTITIES);
    Ok(())
}

fn print_facets(f: &Facets) {
    outln!();
    let rows = f
        .facets
        .iter()
        .flat_map(|facet| {
            facet.values.iter().map(move |v| {
                vec![
                    facet.field.as_str().to_string(),
                    v.value.clone(),
                    v.count.to_string(),
                ]
            })
        })
        .collect();
    output::table(&["facet", "value", "count"], rows);
    let empty: Vec<&str> = FacetField::ALL
        .iter()
        .filter(|field| f.get(**field).is_none_or(|x| x.values.is_empty()))
        .map(|field| field.as_str())
        .collect();
    if !empty.is_empty() {
        outln!("(no values for {})", empty.join(", "));
    }
}

fn edges(title: &str, list: Option<&Vec<RelationEdge>>) {
    outln!();
    match list {
        None => outln!("{title}: unavailable (this catalog has no relations table)"),
        Some(l) if l.is_empty() => outln!("{title}: none"),
        Some(l) => {
            outln!("{title}:");
            output::table(
                &["type", "entity", "exists"],
                l.iter()
                    .map(|e| {
                        vec![
                            e.relation_type.clone(),
                            e.entity_ref.clone(),
                            if e.exists { "yes" } else { "MISSING" }.to_string(),
                        ]
                    })
                    .collect(),
            );
        }
    }
}

async fn entity(
    global: &Global,
    conns: &Connections,
    cat: &Catalog,
    r: &str,
    yaml: bool,
) -> Result<()> {
    if yaml {
        let d = cat.entity(r).await?;
        match &d.yaml {
            Some(y) => out!("{y}"),
            None => outln!("# {}: no readable entity JSON is stored", d.entity_ref),
        }
        return Ok(());
    }
    let view = crosslinks::entity_with_links(conns, cat, r).await?;
    if global.json {
        // The detail, plus the cross-links: `tasks` (scaffolder tasks that created the entity
        // or ran its source template) and, for users and groups, `sessions`; a link that could
        // not be read is `null` with its error in `tasks_error` / `sessions_error`.
        #[derive(serde::Serialize)]
        struct Flat<'a> {
            #[serde(flatten)]
            detail: &'a catalog::EntityDetail,
            tasks: &'a Option<EntityTasks>,
            tasks_error: &'a Option<ErrorPayload>,
            sessions: &'a Option<UserSessions>,
            sessions_error: &'a Option<ErrorPayload>,
        }
        let flat = Flat {
            detail: &view.detail,
            tasks: &view.tasks,
            tasks_error: &view.tasks_error,
            sessions: &view.sessions,
            sessions_error: &view.sessions_error,
        };
        let v = serde_json::to_value(&flat).map_err(|e| {
            bsi_core::CoreError::config(format!("the entity could not be written as JSON: {e}"))
        })?;
        return output::json(&v);
    }
    let d = &view.detail;
    let status = if d.in_final {
        "in the catalog"
    } else {
        "NOT in the catalog (never stitched)"
    };
    outln!("{} · {status}", d.entity_ref);
    if let Some(src) = d.source {
        use bsi_core::catalog::EntitySource as S;
        let from = match src {
            S::Final => "final_entities (stitched)",
            S::Processed => "refresh_state.processed_entity (not stitched)",
            S::Unprocessed => "refresh_state.unprocessed_entity (as emitted, not processed)",
        };
        outln!("shown from: {from}");
    }
    for n in &d.notes {
        outln!("note: {n}");
    }
    if let Some(e) = &d.entity {
        let s = |p: &str| e.pointer(p).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(t) = s("/metadata/title") {
            outln!("title: {t}");
        }
        if let Some(t) = s("/metadata/description") {
            outln!("description: {}", short(&t, 200));
        }
        for (label, p) in [
            ("type", "/spec/type"),
            ("lifecycle", "/spec/lifecycle"),
            ("owner", "/spec/owner"),
        ] {
            if let Some(v) = s(p) {
                outln!("{label}: {v}");
            }
        }
    }
    if let Some(u) = &d.last_updated_at {
        outln!("last updated: {u}");
    }
    match &d.processing {
        None => outln!("processing: no refresh_state row"),
        Some(p) => {
            outln!(
                "processing: {}",
                if p.never_processed {
                    "not processed yet".to_string()
                } else if p.errors.is_empty() {
                    "ok".to_string()
                } else {
                    format!("{} error(s)", p.errors.len())
                }
            );
            outln!(
                "  last discovery: {} · next update: {}",
                dash(p.last_discovery_at.as_deref()),
                dash(p.next_update_at.as_deref())
            );
            outln!("  location key: {}", dash(p.location_key.as_deref()));
            for e in &p.errors {
                outln!("  {}: {}", e.name, short(&e.message, 300));
                if let Some(c) = &e.cause {
                    outln!("    caused by: {}", short(c, 300));
                }
            }
        }
    }
    let mut why = Vec::new();
    if d.unreferenced == Some(true) {
        why.push("no refresh_state_references row targets it");
    }
    if d.orphan_annotation {
        why.push("annotated backstage.io/orphan");
    }
    outln!(
        "orphan: {}",
        if d.orphan {
            format!("YES ({})", why.join("; "))
        } else {
            "no".to_string()
        }
    );
    edges("relations from it", d.outgoing.as_ref());
    edges("relations to it", d.incoming.as_ref());
    print_links(global, &view);
    outln!(
        "\n`{}` prints the entity.",
        global.same_run_line(&["entity".into(), shell_word(&d.entity_ref), "--yaml".into()])
    );
    Ok(())
}

/// The scaffolder tasks behind an entity and, for users and groups, their sessions.
fn print_links(global: &Global, links: &EntityView) {
    match (&links.tasks, &links.tasks_error) {
        (Some(t), _) if t.items.is_empty() => {
            outln!("\nscaffolder tasks: none created it or ran its source template")
        }
        (Some(t), _) => {
            outln!(
                "\nscaffolder tasks ({} of {} matched, newest first):",
                t.items.len(),
                t.matched
            );
            output::table(
                &["task", "status", "template", "created", "via"],
                t.items
                    .iter()
                    .map(|x| {
                        vec![
                            x.task.id.clone(),
                            x.task.display_status.clone(),
                            dash(x.task.template_ref.as_deref()),
                            x.task.created_at.clone(),
                            x.via.join(", "),
                        ]
                    })
                    .collect(),
            );
        }
        (None, Some(e)) => outln!("\nscaffolder tasks: not available ({})", e.message),
        (None, None) => {}
    }
    match (&links.sessions, &links.sessions_error) {
        (Some(s), _) => {
            let users = if s.kind == "group" {
                format!(" of {} member(s)", s.users.len())
            } else {
                String::new()
            };
            outln!(
                "\nsessions{users}: {} offline, {} browser, {} OAuth, {} user_info row(s)",
                s.offline.len(),
                s.browser.len(),
                s.oauth.len(),
                s.user_info.len()
            );
            for o in &s.offline {
                outln!(
                    "  offline {} · {} · client {} · last used {}",
                    o.id,
                    o.user_entity_ref,
                    dash(o.oidc_client_id.as_deref()),
                    o.last_used_at
                );
            }
            for b in &s.browser {
                outln!(
                    "  browser {} · {} · expires {}{}",
                    b.sid,
                    dash(b.user.as_deref()),
                    b.expires_at,
                    if b.is_expired { " (expired)" } else { "" }
                );
            }
            for n in &s.notes {
                outln!("  note: {n}");
            }
            outln!(
                "  `{}` shows them in full.",
                global.same_run_line(&["sessions".into(), "--user".into(), shell_word(&s.subject)])
            );
        }
        (None, Some(e)) => outln!("\nsessions: not available ({})", e.message),
        (None, None) => {}
    }
}

async fn errors(global: &Global, cat: &Catalog, page: &PageArgs) -> Result<()> {
    let p = cat.errors(&page.query()).await?;
    if global.json {
        return output::json(&p);
    }
    if p.items.is_empty() {
        outln!("No processing errors.");
        return Ok(());
    }
    output::table(
        &["ref", "in catalog", "errors", "first error"],
        p.items
            .iter()
            .map(|e| {
                vec![
                    e.entity_ref.clone(),
                    yes_no(e.in_final),
                    e.errors.len().to_string(),
                    e.errors
                        .first()
                        .map(|x| short(&format!("{}: {}", x.name, x.message), 120))
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    );
    more(global, p.next_cursor.as_deref());
    Ok(())
}

fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
    .to_string()
}

async fn orphans(global: &Global, cat: &Catalog, page: &PageArgs) -> Result<()> {
    let p = cat.orphans(&page.query()).await?;
    if global.json {
        return output::json(&p);
    }
    if p.items.is_empty() {
        outln!("No orphaned entities.");
        return Ok(());
    }
    output::table(
        &[
            "ref",
            "unreferenced",
            "annotated",
            "in catalog",
            "location key",
        ],
        p.items
            .iter()
            .map(|o| {
                vec![
                    o.entity_ref.clone(),
                    yes_no(o.unreferenced),
                    yes_no(o.orphan_annotation),
                    yes_no(o.in_final),
                    dash(o.location_key.as_deref()),
                ]
            })
            .collect(),
    );
    more(global, p.next_cursor.as_deref());
    absent_note(cat, catalog::views::ORPHANS);
    Ok(())
}

async fn stale(global: &Global, cat: &Catalog, older_than: &str, page: &PageArgs) -> Result<()> {
    let d = bsi_core::refs::time::parse_duration(older_than)?;
    let s = cat.stale(d, &page.query()).await?;
    if global.json {
        return output::json(&s);
    }
    if let Some(sum) = &s.summary {
        outln!("{}", sum.conclusion);
        if sum.overdue > 0 {
            outln!(
                "Next: `{}` tells why.",
                global.same_run_line(&["doctor".into()])
            );
        }
        outln!();
    }
    if s.page.items.is_empty() {
        outln!(
            "No entity was last discovered or due for refresh before {}.",
            s.cutoff
        );
        return Ok(());
    }
    outln!("Older than {older_than} (before {}):", s.cutoff);
    output::table(
        &["ref", "last discovery", "next update", "why", "in catalog"],
        s.page
            .items
            .iter()
            .map(|e| {
                let mut why = Vec::new();
                if e.discovery_stale {
                    why.push("not rediscovered");
                }
                if e.refresh_overdue {
                    why.push("refresh overdue");
                }
                vec![
                    e.entity_ref.clone(),
                    e.last_discovery_at.clone(),
                    e.next_update_at.clone(),
                    why.join(", "),
                    yes_no(e.in_final),
                ]
            })
            .collect(),
    );
    more(global, s.page.next_cursor.as_deref());
    Ok(())
}

async fn locations(global: &Global, cat: &Catalog, page: &PageArgs) -> Result<()> {
    let p = cat.locations(&page.query()).await?;
    if global.json {
        return output::json(&p);
    }
    if p.items.is_empty() {
        outln!(
            "No registered locations (locations listed in app-config appear as location:default/generated-... entities)."
        );
        return Ok(());
    }
    output::table(
        &["type", "target", "entity", "status", "at", "message"],
        p.items
            .iter()
            .map(|l| {
                vec![
                    l.location_type.clone(),
                    l.target.clone(),
                    dash(l.location_entity_ref.as_deref()),
                    dash(l.status.as_deref()),
                    dash(l.status_at.as_deref()),
                    l.message
                        .as_deref()
                        .map(|m| short(m, 100))
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    );
    more(global, p.next_cursor.as_deref());
    absent_note(cat, catalog::views::LOCATIONS);
    Ok(())
}
