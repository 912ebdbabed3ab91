//! `bsi databases`: the plugin databases, and which Backstage each Knex table says they are.

use bsi_core::Result;
use bsi_core::discovery::discover;
use bsi_core::eras::{self, Era};
use bsi_core::installations::installations;
use bsi_core::knex;

use crate::commands::installations::note;

use crate::context;
use crate::global::Global;
use crate::output;

pub async fn run(global: &Global) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = match discover(&conns).await {
        Ok(d) => {
            let (eras, errors) = eras::of_discovery(&conns, &d).await;
            // The same Knex tables and locks `knex status` reports.
            let (knex_tables, _) = knex::status_of(&conns, &d).await;
            Ok((d, eras, errors, knex_tables))
        }
        Err(e) => Err(e),
    };
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
    let (d, eras, errors, knex_tables) = result?;
    let knex_of = |db: &bsi_core::discovery::DatabaseInfo| {
        knex::summary_of(&knex_tables, &db.database, db.schema.as_deref())
    };
    if global.json {
        // Each database gains the eras of its Knex tables.
        let mut v =
            serde_json::to_value(&d).map_err(|e| bsi_core::CoreError::Internal(e.to_string()))?;
        if let Some(list) = v["databases"].as_array_mut() {
            for (db, info) in list.iter_mut().zip(&d.databases) {
                let mine = eras::of_database(&eras, &info.database, info.schema.as_deref());
                db["eras"] = serde_json::to_value(mine)
                    .map_err(|e| bsi_core::CoreError::Internal(e.to_string()))?;
                db["knex"] = serde_json::to_value(knex_of(info))
                    .map_err(|e| bsi_core::CoreError::Internal(e.to_string()))?;
            }
        }
        return output::json(&v);
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
                if db.error.is_some() {
                    "?".to_string()
                } else {
                    knex_of(db).text()
                },
            ]
        })
        .collect();
    output::table(
        &["database", "plugin", "areas", "tables", "size", "knex"],
        rows,
    );
    print_eras(&eras);
    for e in errors {
        outln!("Knex tables unreadable: {}", e.message);
    }
    if let Some(note) = others {
        outln!("\n{note}");
    }
    Ok(())
}

/// Which Backstage each Knex table says this is, and what newer versions add.
fn print_eras(eras: &[Era]) {
    if eras.is_empty() {
        return;
    }
    outln!();
    outln!("Which Backstage (the package versions that ship each Knex table's migrations):");
    let rows = eras
        .iter()
        .map(|e| {
            let next = &e.identity.next;
            vec![
                e.database.clone(),
                if e.schema == "public" {
                    e.table.clone()
                } else {
                    format!("{}.{}", e.schema, e.table)
                },
                e.applied.to_string(),
                e.newest.clone().unwrap_or_else(|| "-".into()),
                e.identity.summary.clone(),
                match next.first() {
                    Some(n) => format!("{} from {}", next.len(), n.first_version),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    output::table(
        &[
            "database",
            "knex table",
            "ran",
            "newest",
            "versions",
            "newer add",
        ],
        rows,
    );
}
