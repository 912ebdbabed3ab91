//! The UI's generated TypeScript, made from the Rust types with ts-rs: one file per type in
//! `ui/src/bindings/` (with an `index.ts`), and `ui/src/commands.ts`, a typed function per
//! command and the only place the UI calls `invoke`. 64-bit integers are `number` (every count
//! and size here fits in 2^53); `serde_json::Value` is `unknown`.
//!
//! [`SPECS`](specs) lists every command with its arguments and result; a test checks it against
//! [`crate::COMMANDS`]. Regenerate with `cargo run --bin export-bindings`.

use std::any::type_name;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS, TypeVisitor};

use crate::commands::*;
use bsi_core as core;

/// One argument of a command.
pub struct ArgSpec {
    /// The Rust parameter name (snake_case); the IPC key is its camelCase form.
    pub name: &'static str,
    ty: fn(&Config) -> String,
    visit: fn(&mut Collector),
}

/// One command.
pub struct CommandSpec {
    pub name: &'static str,
    pub doc: &'static str,
    pub args: Vec<ArgSpec>,
    ret: fn(&Config) -> String,
    visit_ret: fn(&mut Collector),
}

fn ts_name<T: TS + ?Sized>(cfg: &Config) -> String {
    T::name(cfg)
}

fn visit_type<T: TS + 'static + ?Sized>(c: &mut Collector) {
    c.visit::<T>();
}

macro_rules! specs {
    ($( $doc:literal $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty ;)*) => {
        /// Every command with its arguments and result, in the order of [`crate::COMMANDS`].
        pub fn specs() -> Vec<CommandSpec> {
            vec![$(
                CommandSpec {
                    name: stringify!($name),
                    doc: $doc,
                    args: vec![$( ArgSpec {
                        name: stringify!($arg),
                        ty: ts_name::<$ty>,
                        visit: visit_type::<$ty>,
                    } ),*],
                    ret: ts_name::<$ret>,
                    visit_ret: visit_type::<$ret>,
                },
            )*]
        }
    };
}

type Op = Option<String>;

specs! {
    "The app's version, the open profile, and its server and databases (a connection failure is part of the answer)."
    app_status() -> status::AppStatus;
    "Every saved profile."
    list_profiles() -> Vec<connections::ProfileView>;
    "One saved profile."
    get_profile(name: String) -> connections::ProfileView;
    "Adds a profile from a URI and/or fields (or changes one with `update`); a password goes to the OS keyring."
    add_profile(input: connections::ProfileInput) -> connections::SavedProfile;
    "Reads Backstage app-config files into a profile; returns what was read and from where, secrets masked."
    import_app_config(name: String, files: Vec<String>, update: bool) -> connections::ImportResult;
    "Removes a profile and its stored passwords; whether it existed."
    remove_profile(name: String) -> bool;
    "Connects once (the open profile when `name` is null) and reports the server, or rejects with the precise error."
    test_connection(name: Option<String>, password: Option<String>) -> core::connect::ServerInfo;
    "Tests a profile as a form describes it, without saving it; rejects with the precise error."
    test_profile_input(input: connections::ProfileInput) -> core::connect::ServerInfo;
    "Whether the OS keyring can be used, and if not why."
    keyring_status() -> core::secrets::KeyringStatus;
    "Turns write mode on or off for a profile; turning it on needs the profile name typed back."
    set_write_mode(profile: String, enabled: bool, confirm_name: String) -> connections::ProfileView;
    "Opens a profile in this window; `password` is kept for this run only (no keyring needed)."
    open_profile(name: String, password: Option<String>) -> connections::ProfileView;
    "The profile this window has open."
    current_profile() -> Option<connections::ProfileView>;
    "Closes the open profile's connections."
    close_profile() -> ();
    "Cancels the operation started with this `op` id, on the server; that command rejects with `cancelled`."
    cancel(op: String) -> ops::CancelOutcome;
    "Databases, Knex state (held locks first) and health counts of the open profile."
    overview(op: Op) -> core::overview::Overview;
    "A page of catalog entities, filtered and sorted."
    entities(query: core::catalog::EntityQuery, op: Op) -> core::page::Page<core::catalog::EntitySummary>;
    "Counts per value of `fields` (all when empty) among the entities `filter` matches."
    facets(filter: core::catalog::EntityFilter, fields: Vec<core::catalog::FacetField>, op: Op) -> core::catalog::Facets;
    "One entity with relations, processing state, tasks that created it and sessions of a user or group."
    entity(entity_ref: String, op: Op) -> catalog::EntityView;
    "Entities whose processing failed."
    processing_errors(page: PageArgs, op: Op) -> core::page::Page<core::catalog::ErroredEntity>;
    "Orphaned entities."
    orphans(page: PageArgs, op: Op) -> core::page::Page<core::catalog::OrphanEntity>;
    "Entities not refreshed for longer than `older_than` (90s, 30m, 24h, 7d...)."
    stale(older_than: String, page: PageArgs, op: Op) -> core::catalog::StaleList;
    "Registered locations and their latest update."
    locations(page: PageArgs, op: Op) -> core::page::Page<core::catalog::LocationRow>;
    "Which catalog views this database can serve, and the fields they show without."
    catalog_capabilities(op: Op) -> core::catalog::Capabilities;
    "The relation neighbourhood of some entities."
    graph_neighbourhood(args: graph::GraphArgs, op: Op) -> core::graph::Graph;
    "The shortest relation path between two entities."
    graph_path(from: String, to: String, max_depth: Option<usize>, types: Vec<String>, op: Op) -> core::graph::RelationPath;
    "Relation targets that are not entities."
    broken_refs(limit: Option<usize>, cursor: Option<String>, samples: Option<usize>, op: Op) -> core::page::Page<core::graph::BrokenTarget>;
    "A page of scaffolder tasks, newest first."
    tasks(args: scaffolder::TaskArgs, op: Op) -> core::page::Page<core::scaffolder::TaskSummary>;
    "One scaffolder task with steps, log and output."
    task(id: String, op: Op) -> core::scaffolder::TaskDetail;
    "Offline sessions (refresh tokens)."
    offline_sessions(args: auth::AuthArgs, op: Op) -> core::page::Page<core::auth::OfflineSession>;
    "Browser sign-in sessions."
    browser_sessions(args: auth::AuthArgs, op: Op) -> core::page::Page<core::auth::BrowserSession>;
    "OAuth authorization sessions by status."
    oauth_sessions(args: auth::AuthArgs, op: Op) -> Vec<core::auth::OAuthStatusGroup>;
    "The auth backend's signing keys (public members)."
    signing_keys(op: Op) -> Vec<core::auth::SigningKey>;
    "`user_info` rows."
    user_info(args: auth::AuthArgs, op: Op) -> core::page::Page<core::auth::UserInfo>;
    "Decodes a JWT: header and claims, never the signature."
    decode_jwt(token: String) -> core::auth::TokenView;
    "Search document types with counts."
    search_types(op: Op) -> Vec<core::search::DocumentTypeCount>;
    "Full-text search over the search index."
    search(args: search::SearchArgs, op: Op) -> core::search::SearchResults;
    "Entities with TechDocs and the state of their search index."
    techdocs(page: PageArgs, op: Op) -> core::techdocs::TechDocsList;
    "The tables of a target with columns and sizes."
    list_tables(target: core::tables::Target, op: Op) -> Vec<core::tables::ScopeTables>;
    "A page of one table, sorted and filtered, secrets masked."
    browse_table(target: core::tables::Target, table: String, query: core::tables::TableQuery, op: Op) -> core::tables::TablePage;
    "Our migrations per area: applied, pending, changed."
    migration_status(areas: Vec<String>, op: Op) -> Vec<core::migrate::AreaStatus>;
    "The migrations `applyMigrations` would run, with their SQL."
    migration_plan(areas: Vec<String>, op: Op) -> Vec<core::migrate::PlannedMigration>;
    "Applies pending migrations; needs write mode and the profile name typed back in `confirm`."
    apply_migrations(areas: Vec<String>, create_databases: bool, force: bool, confirm: String) -> Vec<core::migrate::AppliedNow>;
    "Knex migration tables and locks of every plugin database."
    knex_status(op: Op) -> Vec<core::knex::KnexTable>;
    "Releases a held Knex lock; needs write mode and the database name typed back in `confirm`."
    knex_unlock(database: String, lock_table: String, confirm: String) -> knex::UnlockOutcome;
}

/// Types every UI needs even when no command returns them directly.
fn extra_types(c: &mut Collector) {
    c.visit::<core::ErrorPayload>();
    c.visit::<core::ErrorCode>();
}

/// Renders one type's declaration file.
type Exporter = fn(&Config) -> Result<String, ts_rs::ExportError>;

/// Collects the exportable types reachable from the commands, by TypeScript name.
pub struct Collector {
    /// TypeScript name -> (Rust type name, exporter, output path).
    types: BTreeMap<String, (&'static str, Exporter, PathBuf)>,
    clashes: Vec<String>,
    cfg: Config,
}

impl TypeVisitor for Collector {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if let Some(path) = T::output_path() {
            let ident = T::ident(&self.cfg);
            let rust = type_name::<T::WithoutGenerics>();
            match self.types.get(&ident) {
                Some((r, _, _)) if *r == rust => {
                    // Seen; another instance of a generic type may bring new arguments.
                    T::visit_generics(self);
                    return;
                }
                Some((r, _, _)) => {
                    self.clashes.push(format!("{ident}: {r} and {rust}"));
                    return;
                }
                None => {
                    self.types
                        .insert(ident, (rust, export_one::<T::WithoutGenerics>, path));
                }
            }
        }
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

fn export_one<T: TS + 'static + ?Sized>(cfg: &Config) -> Result<String, ts_rs::ExportError> {
    T::export_to_string(cfg)
}

fn config() -> Config {
    Config::new().with_large_int("number")
}

fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for ch in s.chars() {
        if ch == '_' {
            up = true;
        } else if up {
            out.extend(ch.to_uppercase());
            up = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// Whether `word` occurs in `text` as a whole identifier.
fn uses_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

const HEADER: &str =
    "// Generated by `cargo run --bin export-bindings` from the Rust types: do not edit.\n";

/// The generated files: path relative to `ui/src` -> content.
pub fn render() -> Result<BTreeMap<PathBuf, String>, String> {
    let cfg = config();
    let specs = specs();
    let mut c = Collector {
        types: BTreeMap::new(),
        clashes: Vec::new(),
        cfg: config(),
    };
    for s in &specs {
        for a in &s.args {
            (a.visit)(&mut c);
        }
        (s.visit_ret)(&mut c);
    }
    extra_types(&mut c);
    if !c.clashes.is_empty() {
        return Err(format!(
            "two Rust types share a TypeScript name: {}",
            c.clashes.join("; ")
        ));
    }
    let mut files = BTreeMap::new();
    let mut index = String::from(HEADER);
    for (ident, (_, export, path)) in &c.types {
        let text = export(&cfg).map_err(|e| format!("exporting {ident}: {e}"))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(ident.as_str())
            .to_string();
        index.push_str(&format!("export type {{ {ident} }} from './{stem}';\n"));
        files.insert(Path::new("bindings").join(path), text);
    }
    files.insert(PathBuf::from("bindings/index.ts"), index);

    let mut ts = String::from(HEADER);
    ts.push_str(
        "// The only module that calls the backend: one typed function per command of\n\
         // src-tauri/src/commands. A failed command rejects with an `ErrorPayload`\n\
         // ({ code, message }), whatever failed (a failure of IPC itself is `internal`).\n\n",
    );
    ts.push_str("import { invoke } from '@tauri-apps/api/core';\n");
    let mut body = String::new();
    let mut signatures = String::from("ErrorPayload\n");
    body.push_str(
        "/** Whether a rejection of a command is the backend's `{ code, message }`. */\n\
         export function isCommandError(e: unknown): e is ErrorPayload {\n\
         \x20 return (\n\
         \x20   typeof e === 'object' &&\n\
         \x20   e !== null &&\n\
         \x20   typeof (e as { code?: unknown }).code === 'string' &&\n\
         \x20   typeof (e as { message?: unknown }).message === 'string'\n\
         \x20 );\n\
         }\n\n\
         /** Invokes a command; every rejection is an `ErrorPayload`. */\n\
         async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {\n\
         \x20 try {\n\
         \x20   return await invoke<T>(cmd, args);\n\
         \x20 } catch (e) {\n\
         \x20   if (isCommandError(e)) {\n\
         \x20     throw e;\n\
         \x20   }\n\
         \x20   const failure: ErrorPayload = { code: 'internal', message: String(e) };\n\
         \x20   throw failure;\n\
         \x20 }\n\
         }\n\n\
         let opCounter = 0;\n\n\
         /** A fresh id for a cancellable operation: pass it as `op`, then `cancel(op)`. */\n\
         export function newOpId(): string {\n\
         \x20 opCounter += 1;\n\
         \x20 return `op-${Date.now().toString(36)}-${opCounter}`;\n\
         }\n",
    );
    for s in &specs {
        let ts = &mut body;
        // Trailing nullable arguments may be left out.
        let mut optional_from = s.args.len();
        for (i, a) in s.args.iter().enumerate().rev() {
            if (a.ty)(&cfg).ends_with("| null") {
                optional_from = i;
            } else {
                break;
            }
        }
        let params: Vec<String> = s
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let q = if i >= optional_from { "?" } else { "" };
                format!("{}{q}: {}", camel(a.name), (a.ty)(&cfg))
            })
            .collect();
        let keys: Vec<String> = s
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let k = camel(a.name);
                if i >= optional_from {
                    format!("{k}: {k} ?? null")
                } else {
                    k
                }
            })
            .collect();
        let ret = (s.ret)(&cfg);
        signatures.push_str(&format!("{} {ret}\n", params.join(", ")));
        let fname = camel(s.name);
        ts.push_str(&format!("\n/** {} */\n", s.doc));
        ts.push_str(&format!(
            "export function {fname}({}): Promise<{ret}> {{\n",
            params.join(", ")
        ));
        if keys.is_empty() {
            ts.push_str(&format!("  return call<{ret}>('{}');\n}}\n", s.name));
        } else {
            ts.push_str(&format!(
                "  return call<{ret}>('{}', {{ {} }});\n}}\n",
                s.name,
                keys.join(", ")
            ));
        }
    }
    // Import only what the functions use (the UI compiles with noUnusedLocals).
    let used: Vec<&String> = c
        .types
        .keys()
        .filter(|n| uses_word(&signatures, n))
        .collect();
    ts.push_str("import type {\n");
    for n in &used {
        ts.push_str(&format!("  {n},\n"));
    }
    ts.push_str("} from './bindings';\n\nexport type * from './bindings';\n\n");
    ts.push_str(&body);
    files.insert(PathBuf::from("commands.ts"), ts);
    Ok(files)
}

/// Writes the generated files under `dir` (normally `ui/src`), replacing `dir/bindings`.
/// Returns how many files were written.
pub fn export(dir: &Path) -> Result<usize, String> {
    let files = render()?;
    let bindings = dir.join("bindings");
    if bindings.exists() {
        for entry in std::fs::read_dir(&bindings).map_err(|e| e.to_string())? {
            let p = entry.map_err(|e| e.to_string())?.path();
            if p.extension().is_some_and(|x| x == "ts") {
                std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
    }
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_has_a_spec_in_order() {
        let specs: Vec<&str> = super::specs().iter().map(|s| s.name).collect();
        assert_eq!(specs, crate::COMMANDS);
    }

    #[test]
    fn the_capability_allows_exactly_the_commands() {
        let text = include_str!("../capabilities/default.json");
        let v: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        let perms: Vec<String> = v["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        let want: Vec<String> = crate::COMMANDS
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        assert_eq!(perms, want);
    }
}
