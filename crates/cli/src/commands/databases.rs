//! `bsi databases`.

use bsi_core::Result;
use bsi_core::discovery::discover;

use crate::context;
use crate::global::Global;
use crate::output;

pub async fn run(global: &Global) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = discover(&conns).await;
    conns.close().await;
    let d = result?;
    if global.json {
        return output::json(&d);
    }
    outln!(
        "{} · PostgreSQL {} · {} · {} mode · {}",
        d.server.server,
        d.server.version,
        d.server.tls.as_deref().unwrap_or("no TLS"),
        d.mode.as_str(),
        if d.server.read_only {
            "read-only"
        } else {
            "WRITE MODE"
        }
    );
    if d.databases.is_empty() {
        outln!("No Backstage databases found (check --prefix or --schema-mode).");
        return Ok(());
    }
    let rows = d
        .databases
        .iter()
        .map(|db| {
            vec![
                match &db.schema {
                    Some(s) => format!("{}.{s}", db.database),
                    None => db.database.clone(),
                },
                db.plugin.clone().unwrap_or_else(|| "-".into()),
                if let Some(e) = &db.error {
                    format!("unreadable: {}", e.message)
                } else if db.areas.is_empty() {
                    "(backend service tables only)".to_string()
                } else {
                    db.areas
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                db.tables.to_string(),
                output::human_size(db.size_bytes),
                if db.knex_managed { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    output::table(
        &["database", "plugin", "areas", "tables", "size", "knex"],
        rows,
    );
    Ok(())
}
