//! `bsi installations`, and the note `bsi databases` adds when the profile points at none of
//! the server's installations (or only at part of one).

use bsi_core::Result;
use bsi_core::installations::{Installation, Installations, installations};
use bsi_core::profile::DivisionMode;

use crate::context;
use crate::global::{Global, shell_word};
use crate::output;

pub async fn run(global: &Global) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = installations(&conns).await;
    conns.close().await;
    let list = result?;
    if global.json {
        return output::json(&list);
    }
    outln!(
        "{} · {} Backstage installation{}",
        list.server,
        list.installations.len(),
        if list.installations.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    if !list.installations.is_empty() {
        let rows = list
            .installations
            .iter()
            .map(|i| {
                vec![
                    format!("{}{}", i.label(), if i.current { " *" } else { "" }),
                    i.mode.as_str().to_string(),
                    i.plugins
                        .iter()
                        .map(|p| p.label())
                        .collect::<Vec<_>>()
                        .join(", "),
                    output::human_size(Some(i.size_bytes)),
                ]
            })
            .collect();
        output::table(&["installation", "mode", "plugins", "size"], rows);
        if list.installations.iter().any(|i| i.current) {
            outln!("* the one this profile points at");
        }
    }
    for u in &list.unread {
        outln!("not read: {}: {}", u.database, u.error.message);
    }
    if let Some(i) = list.others().first() {
        outln!(
            "Use one: {}",
            global.command_line(&use_args(i, "databases"))
        );
    }
    Ok(())
}

/// The options that point a run at `inst`, then `command`, as shell words.
pub fn use_args(inst: &Installation, command: &str) -> Vec<String> {
    let mut words = match (&inst.mode, &inst.database) {
        (DivisionMode::Schema, Some(db)) => vec![
            "--schema-mode".to_string(),
            "--database".to_string(),
            shell_word(db),
        ],
        _ => vec!["--prefix".to_string(), shell_word(&inst.prefix)],
    };
    words.push(command.to_string());
    words
}

/// The note on other installations, when the profile finds none or only part of one: their
/// names and plugin counts, and the command line that lists the first.
pub fn note(global: &Global, list: &Installations) -> Option<String> {
    if !list.suggest_others {
        return None;
    }
    let others = list.others();
    let first = others.first()?;
    let names: Vec<String> = others
        .iter()
        .map(|i| {
            format!(
                "{} ({} plugin{})",
                i.label(),
                i.plugins.len(),
                if i.plugins.len() == 1 { "" } else { "s" }
            )
        })
        .collect();
    let how = match first.mode {
        DivisionMode::Schema => format!(
            "--schema-mode --database {}",
            shell_word(first.database.as_deref().unwrap_or_default())
        ),
        _ => format!("--prefix {}", shell_word(&first.prefix)),
    };
    Some(format!(
        "{} {}Backstage installation{} on this server: {}; use {how}:\n  {}",
        others.len(),
        if list.installations.iter().any(|i| i.current) {
            "other "
        } else {
            ""
        },
        if others.len() == 1 { "" } else { "s" },
        names.join(", "),
        global.command_line(&use_args(first, "databases"))
    ))
}
