//! The generated table of Backstage migration sets (`migrations.tsv`, written by
//! `scripts/backstage-versions/generate.mjs` from the npm registry) and what it answers: which
//! published package versions ship exactly a given set of applied migrations, and which
//! migration adds a table or column.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Serialize;

const TSV: &str = include_str!("migrations.tsv");

/// One package's migrations recorded in one Knex table, as the registry publishes them.
#[derive(Debug)]
pub(crate) struct Package {
    /// `@backstage/plugin-catalog-backend`, ...
    pub name: &'static str,
    /// The Knex table its migrations are recorded in (`knex_migrations`, or a service's
    /// prefixed one such as `backstage_backend_tasks__knex_migrations`).
    pub table: &'static str,
    /// Every migration any version ships, by name (the order Knex runs them in).
    pub migrations: Vec<Migration>,
    /// The runs of consecutive versions that ship one set, oldest first.
    pub sets: Vec<Set>,
}

#[derive(Debug)]
pub(crate) struct Migration {
    pub name: &'static str,
    pub first: &'static str,
}

#[derive(Debug)]
pub(crate) struct Set {
    pub first: &'static str,
    pub last: &'static str,
    pub versions: u32,
    /// Indexes into [`Package::migrations`].
    pub members: BTreeSet<usize>,
}

#[derive(Debug)]
struct Add {
    package: &'static str,
    target: &'static str,
    migration: &'static str,
    first: &'static str,
}

#[derive(Debug, Default)]
pub(crate) struct Table {
    pub packages: Vec<Package>,
    adds: Vec<Add>,
    /// The header's lines: how the table was made and how to make it again.
    pub header: Vec<&'static str>,
}

/// Why the embedded table cannot be read; a test keeps this from ever happening in a build.
fn parse(text: &'static str) -> Result<Table, String> {
    let mut t = Table::default();
    for (n, line) in text.lines().enumerate() {
        if let Some(h) = line.strip_prefix("# ") {
            t.header.push(h);
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let f: Vec<&'static str> = line.split('\t').collect();
        let bad = || format!("migrations.tsv line {}: malformed `{line}`", n + 1);
        let package = |t: &mut Table, name: &'static str, table: &'static str| -> usize {
            match t
                .packages
                .iter()
                .position(|p| p.name == name && p.table == table)
            {
                Some(i) => i,
                None => {
                    t.packages.push(Package {
                        name,
                        table,
                        migrations: Vec::new(),
                        sets: Vec::new(),
                    });
                    t.packages.len() - 1
                }
            }
        };
        match (f[0], f.len()) {
            ("set", 10) => {
                let mut members = BTreeSet::new();
                for span in f[9].split(',') {
                    let (a, b) = span.split_once('-').unwrap_or((span, span));
                    let (a, b): (usize, usize) =
                        (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                    members.extend(a..=b);
                }
                let i = package(&mut t, f[1], f[2]);
                t.packages[i].sets.push(Set {
                    first: f[4],
                    last: f[5],
                    versions: f[6].parse().map_err(|_| bad())?,
                    members,
                });
            }
            ("migration", 7) => {
                let i = package(&mut t, f[1], f[2]);
                let p = &mut t.packages[i];
                if f[3].parse::<usize>().ok() != Some(p.migrations.len()) {
                    return Err(bad());
                }
                p.migrations.push(Migration {
                    name: f[4],
                    first: f[5],
                });
            }
            ("adds", 6) => t.adds.push(Add {
                package: f[1],
                target: f[3],
                migration: f[4],
                first: f[5],
            }),
            _ => return Err(bad()),
        }
    }
    for p in &t.packages {
        if p.sets
            .iter()
            .any(|s| s.members.iter().any(|&m| m >= p.migrations.len()))
        {
            return Err(format!(
                "migrations.tsv: a set of {} names a migration it does not list",
                p.name
            ));
        }
    }
    Ok(t)
}

pub(crate) fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        parse(TSV).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the embedded migration table is unreadable");
            Table::default()
        })
    })
}

/// `catalog-backend` for `@backstage/plugin-catalog-backend`, `backend-defaults` for
/// `@backstage/backend-defaults`.
pub fn short_name(package: &str) -> &str {
    let p = package.strip_prefix("@backstage/").unwrap_or(package);
    p.strip_prefix("plugin-").unwrap_or(p)
}

/// `x.y.z` as numbers, for ordering.
fn semver(v: &str) -> (u64, u64, u64) {
    let mut it = v.split('.').map(|p| p.parse().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// A Knex migration's name as the table knows it: the file name without its extension.
pub fn migration_name(recorded: &str) -> &str {
    [".js", ".cjs", ".mjs", ".ts"]
        .iter()
        .find_map(|ext| recorded.strip_suffix(ext))
        .unwrap_or(recorded)
}

/// The migration (and the first package version shipping it) whose `up` adds `target`, a
/// table (`final_entities`) or a column (`final_entities.entity_ref`), in `package` (full
/// or short name: `catalog-backend`). Use it to say which upgrade brings what a database lacks.
pub fn added_by(package: &str, target: &str) -> Option<(&'static str, &'static str)> {
    table()
        .adds
        .iter()
        .find(|a| (a.package == package || short_name(a.package) == package) && a.target == target)
        .map(|a| (a.migration, a.first))
}

/// How the applied migrations compare with what published versions ship.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Exactly the set some published versions ship.
    Exact,
    /// Everything the newest known version ships, and migrations newer than all of them.
    Newer,
    /// Migrations of the package, but between two published sets: a partial upgrade.
    Between,
    /// Migrations that no published version ships (older than its newest).
    Unpublished,
    /// No known package ships these migrations.
    UnknownPackage,
    /// No migration has run.
    Empty,
}

/// Versions of one package that ship one migration set.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VersionRange {
    /// `@backstage/plugin-catalog-backend`, ...
    pub package: String,
    pub first: String,
    pub last: String,
    /// How many published versions (prereleases aside) the range holds.
    pub versions: u32,
    /// No known version is newer than `last`.
    pub newest_known: bool,
}

impl VersionRange {
    fn of(p: &Package, s: &Set) -> Self {
        VersionRange {
            package: p.name.to_string(),
            first: s.first.to_string(),
            last: s.last.to_string(),
            versions: s.versions,
            newest_known: p.sets.last().is_some_and(|l| l.last == s.last),
        }
    }

    /// `catalog-backend 1.21.0 – 1.22.1`, `catalog-backend 4.0.5 (newest known)`.
    pub fn label(&self) -> String {
        let name = short_name(&self.package);
        let range = if self.first == self.last {
            format!("{name} {}", self.first)
        } else {
            format!("{name} {} – {}", self.first, self.last)
        };
        if self.newest_known {
            format!("{range} (newest known)")
        } else {
            range
        }
    }
}

/// A migration newer versions add, and the first version shipping it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NextMigration {
    pub name: String,
    pub first_version: String,
}

/// Which published versions a set of applied migrations matches.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Identity {
    pub verdict: Verdict,
    /// The package whose migrations these are (`@backstage/plugin-catalog-backend`).
    pub package: Option<String>,
    /// For `exact`: every range shipping exactly this set (the scheduler's migrations ship in
    /// `backend-tasks` and in `backend-defaults`). For `between`: the newest set below and
    /// the oldest set above. For `newer`: the newest known set.
    pub ranges: Vec<VersionRange>,
    /// Applied migrations that no known version of the package ships.
    pub unknown: Vec<String>,
    /// For `between`: migrations of the set above that are not applied.
    pub missing: Vec<String>,
    /// Migrations that newer versions add, in the order versions ship them.
    pub next: Vec<NextMigration>,
    /// One line for people: `catalog-backend 1.21.0 – 1.22.1`, `not a published set: ...`.
    pub summary: String,
}

fn nothing(verdict: Verdict, package: Option<&Package>, summary: String) -> Identity {
    Identity {
        verdict,
        package: package.map(|p| p.name.to_string()),
        ranges: Vec::new(),
        unknown: Vec::new(),
        missing: Vec::new(),
        next: Vec::new(),
        summary,
    }
}

/// Migrations of `p` not in `have` that versions after `after` ship, in shipping order.
fn next_of(p: &Package, have: &BTreeSet<usize>, after: &str) -> Vec<NextMigration> {
    let mut next: Vec<&Migration> = p
        .migrations
        .iter()
        .enumerate()
        .filter(|(i, m)| !have.contains(i) && semver(m.first) > semver(after))
        .map(|(_, m)| m)
        .collect();
    next.sort_by_key(|m| (semver(m.first), m.name));
    next.into_iter()
        .map(|m| NextMigration {
            name: m.name.to_string(),
            first_version: m.first.to_string(),
        })
        .collect()
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Identifies the migrations recorded in the Knex table `knex_table` (names as recorded, with
/// or without their extension).
pub fn identify(knex_table: &str, applied: &[String]) -> Identity {
    identify_in(table(), knex_table, applied)
}

pub(crate) fn identify_in(t: &Table, knex_table: &str, applied: &[String]) -> Identity {
    let names: BTreeSet<&str> = applied.iter().map(|n| migration_name(n)).collect();
    if names.is_empty() {
        return nothing(Verdict::Empty, None, "no migration has run".into());
    }
    // The packages recording into this table that know most of the applied names; among
    // equals the later one in the table (backend-defaults after backend-tasks).
    let scored: Vec<(&Package, BTreeSet<usize>)> = t
        .packages
        .iter()
        .filter(|p| p.table == knex_table)
        .map(|p| {
            let have = p
                .migrations
                .iter()
                .enumerate()
                .filter(|(_, m)| names.contains(m.name))
                .map(|(i, _)| i)
                .collect();
            (p, have)
        })
        .collect();
    let best = scored.iter().map(|(_, h)| h.len()).max().unwrap_or(0);
    if best == 0 {
        return nothing(
            Verdict::UnknownPackage,
            None,
            format!(
                "{} that no known package ships (newest {})",
                plural(names.len(), "migration"),
                names.last().copied().unwrap_or_default()
            ),
        );
    }
    let top: Vec<&(&Package, BTreeSet<usize>)> =
        scored.iter().filter(|(_, h)| h.len() == best).collect();
    let exact: Vec<VersionRange> = top
        .iter()
        .filter(|(_, h)| h.len() == names.len())
        .flat_map(|(p, h)| {
            p.sets
                .iter()
                .filter(move |s| &s.members == h)
                .map(|s| VersionRange::of(p, s))
        })
        .collect();
    let Some(&&(p, ref have)) = top.last() else {
        return nothing(Verdict::UnknownPackage, None, String::new());
    };
    let name = short_name(p.name);
    if !exact.is_empty() {
        let own = exact.iter().rev().find(|r| r.package == p.name);
        let after = own.map_or("0.0.0", |r| r.last.as_str());
        let summary = exact
            .iter()
            .map(VersionRange::label)
            .collect::<Vec<_>>()
            .join(" or ");
        return Identity {
            verdict: Verdict::Exact,
            package: Some(p.name.to_string()),
            next: next_of(p, have, after),
            ranges: exact,
            unknown: Vec::new(),
            missing: Vec::new(),
            summary,
        };
    }
    let known: BTreeSet<&str> = p.migrations.iter().map(|m| m.name).collect();
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| !known.contains(*n))
        .map(|n| n.to_string())
        .collect();
    let newest_known = p.migrations.last().map_or("", |m| m.name);
    if !unknown.is_empty() {
        let latest = p.sets.last();
        let covers_latest = latest.is_some_and(|s| s.members.is_subset(have));
        if covers_latest && unknown.iter().all(|u| u.as_str() > newest_known) {
            let mut id = nothing(
                Verdict::Newer,
                Some(p),
                format!(
                    "newer than any known {name}: {} after {newest_known}",
                    plural(unknown.len(), "migration")
                ),
            );
            id.ranges = latest.map(|s| VersionRange::of(p, s)).into_iter().collect();
            id.unknown = unknown;
            return id;
        }
        let mut id = nothing(
            Verdict::Unpublished,
            Some(p),
            format!(
                "not a published set: {} that no known {name} ships ({})",
                plural(unknown.len(), "migration"),
                unknown.join(", ")
            ),
        );
        id.unknown = unknown;
        return id;
    }
    // Every name is the package's: a set between two published ones (a partial upgrade or
    // an upgrade that failed half-way), or one that skips migrations.
    let below = p.sets.iter().rev().find(|s| s.members.is_subset(have));
    let above = p.sets.iter().find(|s| s.members.is_superset(have));
    let missing: Vec<String> = above
        .map(|s| {
            s.members
                .difference(have)
                .map(|&i| p.migrations[i].name.to_string())
                .collect()
        })
        .unwrap_or_default();
    let summary = match (below, above) {
        (Some(b), Some(a)) => format!(
            "not a published set: between {name} {} and {} ({} of {} missing)",
            b.last,
            a.first,
            plural(missing.len(), "migration"),
            a.first
        ),
        (None, Some(a)) => format!(
            "not a published set: {name} {} without {}",
            a.first,
            missing.join(", ")
        ),
        _ => format!("not a published set of {name}: no published version ships this mix"),
    };
    let after = below.map_or("0.0.0", |b| b.last);
    Identity {
        verdict: if above.is_some() {
            Verdict::Between
        } else {
            Verdict::Unpublished
        },
        package: Some(p.name.to_string()),
        ranges: below
            .into_iter()
            .chain(above)
            .map(|s| VersionRange::of(p, s))
            .collect(),
        unknown: Vec::new(),
        next: next_of(p, have, after)
            .into_iter()
            .filter(|n| !missing.contains(&n.name))
            .collect(),
        missing,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Generated for the tests\n\
set\t@backstage/plugin-x-backend\tknex_migrations\ta\t1.0.0\t1.2.0\t3\t2\tm1\t0-1\n\
set\t@backstage/plugin-x-backend\tknex_migrations\tb\t1.3.0\t1.3.0\t1\t3\tm2\t0-2\n\
set\t@backstage/plugin-x-backend\tknex_migrations\tc\t2.0.0\t2.1.0\t2\t5\tm4\t0-4\n\
set\t@backstage/a\tsvc__knex_migrations\td\t0.1.0\t0.2.0\t2\t1\ts0\t0\n\
set\t@backstage/b\tsvc__knex_migrations\td\t0.5.0\t0.9.0\t4\t1\ts0\t0\n\
set\t@backstage/b\tsvc__knex_migrations\te\t0.10.0\t0.10.0\t1\t2\ts1\t0-1\n\
migration\t@backstage/plugin-x-backend\tknex_migrations\t0\tm0\t1.0.0\t2.1.0\n\
migration\t@backstage/plugin-x-backend\tknex_migrations\t1\tm1\t1.0.0\t2.1.0\n\
migration\t@backstage/plugin-x-backend\tknex_migrations\t2\tm2\t1.3.0\t2.1.0\n\
migration\t@backstage/plugin-x-backend\tknex_migrations\t3\tm3\t2.0.0\t2.1.0\n\
migration\t@backstage/plugin-x-backend\tknex_migrations\t4\tm4\t2.0.0\t2.1.0\n\
migration\t@backstage/a\tsvc__knex_migrations\t0\ts0\t0.1.0\t0.2.0\n\
migration\t@backstage/b\tsvc__knex_migrations\t0\ts0\t0.5.0\t0.10.0\n\
migration\t@backstage/b\tsvc__knex_migrations\t1\ts1\t0.10.0\t0.10.0\n";

    fn sample() -> Table {
        parse(SAMPLE).unwrap()
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_exact_set_names_its_range_and_what_comes_next() {
        let id = identify_in(&sample(), "knex_migrations", &names(&["m0.js", "m1.js"]));
        assert_eq!(id.verdict, Verdict::Exact);
        assert_eq!(id.summary, "x-backend 1.0.0 – 1.2.0");
        assert_eq!(
            id.next
                .iter()
                .map(|n| (n.name.as_str(), n.first_version.as_str()))
                .collect::<Vec<_>>(),
            vec![("m2", "1.3.0"), ("m3", "2.0.0"), ("m4", "2.0.0")]
        );
        let id = identify_in(&sample(), "knex_migrations", &names(&["m0", "m1", "m2"]));
        assert_eq!(id.summary, "x-backend 1.3.0");
        let all = names(&["m0", "m1", "m2", "m3", "m4"]);
        let id = identify_in(&sample(), "knex_migrations", &all);
        assert_eq!(id.summary, "x-backend 2.0.0 – 2.1.0 (newest known)");
        assert!(id.next.is_empty());
    }

    #[test]
    fn a_set_two_packages_ship_names_both() {
        let id = identify_in(&sample(), "svc__knex_migrations", &names(&["s0.js"]));
        assert_eq!(id.verdict, Verdict::Exact);
        assert_eq!(
            id.summary,
            "a 0.1.0 – 0.2.0 (newest known) or b 0.5.0 – 0.9.0"
        );
        assert_eq!(id.package.as_deref(), Some("@backstage/b"));
        assert_eq!(id.next.len(), 1);
    }

    #[test]
    fn a_partial_upgrade_is_between_two_sets() {
        let id = identify_in(
            &sample(),
            "knex_migrations",
            &names(&["m0", "m1", "m2", "m3"]),
        );
        assert_eq!(id.verdict, Verdict::Between);
        assert_eq!(id.missing, names(&["m4"]));
        assert_eq!(
            id.summary,
            "not a published set: between x-backend 1.3.0 and 2.0.0 (1 migration of 2.0.0 missing)"
        );
        assert_eq!(id.ranges.len(), 2);
        assert!(id.next.is_empty());
        // A migration skipped: still between, missing the skipped one.
        let id = identify_in(&sample(), "knex_migrations", &names(&["m0", "m2"]));
        assert_eq!(id.verdict, Verdict::Between);
        assert_eq!(id.missing, names(&["m1"]));
    }

    #[test]
    fn unknown_migrations_are_newer_or_unpublished() {
        let all = names(&["m0", "m1", "m2", "m3", "m4", "m5"]);
        let id = identify_in(&sample(), "knex_migrations", &all);
        assert_eq!(id.verdict, Verdict::Newer);
        assert_eq!(id.unknown, names(&["m5"]));
        assert_eq!(
            id.summary,
            "newer than any known x-backend: 1 migration after m4"
        );
        let id = identify_in(&sample(), "knex_migrations", &names(&["m0", "m1", "local"]));
        assert_eq!(id.verdict, Verdict::Unpublished);
        assert_eq!(id.unknown, names(&["local"]));
        let id = identify_in(&sample(), "knex_migrations", &names(&["zz"]));
        assert_eq!(id.verdict, Verdict::UnknownPackage);
        let id = identify_in(&sample(), "knex_migrations", &[]);
        assert_eq!(id.verdict, Verdict::Empty);
        let id = identify_in(&sample(), "other_knex_migrations", &names(&["m0"]));
        assert_eq!(id.verdict, Verdict::UnknownPackage);
    }

    #[test]
    fn the_embedded_table_reads_and_answers() {
        let t = parse(TSV).expect("the embedded migrations.tsv is well formed");
        assert!(t.header.iter().any(|h| h.contains("generate.mjs")));
        for pkg in [
            "@backstage/plugin-catalog-backend",
            "@backstage/plugin-scaffolder-backend",
            "@backstage/plugin-auth-backend",
            "@backstage/plugin-search-backend-module-pg",
            "@backstage/backend-defaults",
        ] {
            assert!(t.packages.iter().any(|p| p.name == pkg), "{pkg}");
        }
        // Every published set identifies as exactly itself.
        for p in &t.packages {
            for s in &p.sets {
                let applied: Vec<String> = s
                    .members
                    .iter()
                    .map(|&i| format!("{}.js", p.migrations[i].name))
                    .collect();
                let id = identify_in(&t, p.table, &applied);
                assert_eq!(id.verdict, Verdict::Exact, "{} {}", p.name, s.first);
                assert!(
                    id.ranges
                        .iter()
                        .any(|r| r.package == p.name && r.first == s.first && r.last == s.last),
                    "{} {}: {:?}",
                    p.name,
                    s.first,
                    id.ranges
                );
            }
        }
        for (pkg, target) in [
            ("catalog-backend", "final_entities.entity_ref"),
            ("catalog-backend", "final_entities"),
            ("catalog-backend", "refresh_state_references"),
            ("catalog-backend", "stitch_queue"),
            ("catalog-backend", "locations.location_entity_ref"),
            ("scaffolder-backend", "tasks.state"),
            ("scaffolder-backend", "tasks.workspace"),
            ("scaffolder-backend", "tasks.created_by"),
            ("auth-backend", "offline_sessions"),
            ("auth-backend", "user_info"),
            ("@backstage/plugin-auth-backend", "sessions"),
        ] {
            let (migration, first) = added_by(pkg, target).unwrap_or_else(|| panic!("{target}"));
            let p = t
                .packages
                .iter()
                .find(|p| short_name(p.name) == short_name(pkg))
                .unwrap();
            let m = p.migrations.iter().find(|m| m.name == migration).unwrap();
            assert_eq!(m.first, first, "{target}");
        }
        assert_eq!(
            added_by("catalog-backend", "final_entities.entity_ref").map(|a| a.0),
            Some("20241024104700_add_entity_ref_to_final_entities")
        );
        assert_eq!(added_by("catalog-backend", "no_such_table"), None);
    }
}
