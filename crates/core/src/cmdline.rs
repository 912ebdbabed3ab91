//! `bsi` command lines that the shells show for pasting: one word quoted for a POSIX shell, the
//! options that point a run at a saved profile and an installation, and a whole line. The CLI
//! prints them with its own run's options; the app, which has a profile open and may have
//! switched it to another installation for the run, shows them with `--profile NAME` and that
//! installation's options.

use crate::installations::Layout;
use crate::profile::DivisionMode;

/// `s` as one shell word: as is when it is plain, else in single quotes.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@,+%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The options that point a run at `layout`, as shell words: `--prefix P` in database mode,
/// `--schema-mode --database D` in schema mode.
pub fn layout_options(layout: &Layout) -> Vec<String> {
    match (&layout.mode, &layout.database) {
        (DivisionMode::Schema, Some(db)) => vec![
            "--schema-mode".to_string(),
            "--database".to_string(),
            shell_word(db),
        ],
        _ => vec!["--prefix".to_string(), shell_word(&layout.prefix)],
    }
}

/// `--profile NAME`, then the options of the installation the run was switched to, if any, as
/// shell words.
pub fn profile_options(profile: &str, switched: Option<&Layout>) -> Vec<String> {
    let mut out = vec!["--profile".to_string(), shell_word(profile)];
    if let Some(l) = switched {
        out.extend(layout_options(l));
    }
    out
}

/// `bsi`, the `options` (already shell words), then `args` quoted one by one.
pub fn line(options: &[String], args: &[String]) -> String {
    let mut words = vec!["bsi".to_string()];
    words.extend(options.iter().cloned());
    words.extend(args.iter().map(|a| shell_word(a)));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_they_must_be() {
        assert_eq!(
            shell_word("component:default/checkout"),
            "component:default/checkout"
        );
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn a_switched_run_names_its_installation() {
        let db = Layout {
            mode: DivisionMode::Database,
            prefix: "bs202208_".into(),
            database: None,
        };
        let schema = Layout {
            mode: DivisionMode::Schema,
            prefix: String::new(),
            database: Some("backstage".into()),
        };
        let args = ["knex".to_string(), "status".to_string()];
        assert_eq!(
            line(&profile_options("demo", None), &args),
            "bsi --profile demo knex status"
        );
        assert_eq!(
            line(&profile_options("my demo", Some(&db)), &args),
            "bsi --profile 'my demo' --prefix bs202208_ knex status"
        );
        assert_eq!(
            line(&profile_options("demo", Some(&schema)), &args),
            "bsi --profile demo --schema-mode --database backstage knex status"
        );
    }
}
