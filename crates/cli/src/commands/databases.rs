//! `bsi databases`.

use bsi_core::Result;
use bsi_core::discovery::discover;
use bsi_core::installations::installations;

use crate::commands::installations::note;

use crate::context;
use crate::global::Global;
use crate::output;

pub async fn run(global: &Global) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = discover(&conns).await;
    // Other installations on the server, named when the profile finds none or only part of
    // one; a server that cannot be listed just has no note.
    let others = match (&result, global.json) {
        (Ok(_), false) => match installations(&conns).await {
            Ok(list) => note(global, &list),
            Err(e) => {
                tracing::debug!(error = %e, "installations not listed");
                None
            }
        },
        _ => None,
    };
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
        match others {
            Some(note) => outln!("No Backstage databases found with this prefix.\n{note}"),
            None => outln!("No Backstage databases found (check --prefix or --schema-mode)."),
        }
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
    if let Some(note) = others {
        outln!("\n{note}");
    }
    Ok(())
}
