//! Importing a connection profile from Backstage's own `app-config.yaml` files.
//!
//! The files are read the way Backstage's config loader reads them (`@backstage/config-loader`:
//! `FileConfigSource`, `transform/substitution.ts`, `transform/include.ts`, `transform/apply.ts`;
//! `@backstage/config`: `ConfigReader`), and `backend.database` is interpreted the way
//! `@backstage/backend-defaults` does (`DatabaseManager.ts`, `connectors/postgres.ts`:
//! `computePgPluginConfig`, `normalizeConnection`) on top of node-postgres
//! (`pg/lib/connection-parameters.js`, `pg-connection-string`):
//!
//! - Each file is transformed on its own, relative to its own folder, then the files are merged
//!   in order: later files win; mappings merge key by key, lists and scalars are replaced.
//! - `${VAR}` in a string is replaced by the (trimmed) variable; if any variable of a string is
//!   missing the whole value is *undefined*, that is the key is dropped from that file (so an
//!   earlier file's value shows through). `$${` is a literal `${`.
//! - `{ $env: VAR }` and `{ $file: path }` (relative to the file's folder; trailing whitespace
//!   trimmed, as Backstage's `trimEnd()` does) replace the mapping; no other key may sit next to
//!   them. `$include` is not supported here and is rejected.
//! - Only the `pg` client is accepted: Backstage's `DatabaseManager` knows `pg`, `sqlite3`,
//!   `better-sqlite3`, `mysql` and `mysql2` and nothing else, so `postgres`/`postgresql` are not
//!   aliases there either.
//! - A plugin's `connection` is spread over the base connection (`{...base, ...plugin}`, shallow),
//!   after removing the base `database` unless `pluginDivisionMode` is `schema`. A connection
//!   string is parsed by `pg-connection-string`, which always sets host, port, user and password
//!   (empty when absent) and `database` (null when absent), so those do not fall back to the base
//!   connection; its `ssl` only exists when the string has TLS parameters.
//! - node-postgres fills what is still unset from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//!   `PGDATABASE` and `PGSSLMODE`, then `localhost`, 5432, `$USER`, and for the database the user
//!   name. The same `env` is used for these as for `${VAR}`.
//!
//! Secrets (passwords) go to [`Imported::password`] and [`Imported::plugin_passwords`] and
//! nowhere else: not into the profile, an error message, a warning or a [`ReadValue`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_yaml::Value;

use crate::conninfo::ConnInfo;
use crate::error::{CoreError, Result};
use crate::profile::{DEFAULT_PREFIX, DivisionMode, PluginOverride, Profile, validate_name};
use crate::secrets::Secret;
use crate::tls::{SslMode, TlsSettings};

/// How a secret is shown in [`ReadValue`]. Unlike [`crate::secrets::mask`] no prefix is kept:
/// four characters of a password are already too many.
const MASKED: &str = "••••••••";

/// The keys that turn a mapping into an include (`transform/include.ts`).
const INCLUDE_KEYS: [&str; 3] = ["$file", "$env", "$include"];

/// Keys of `backend.database` that Backstage reads.
const DATABASE_KEYS: [&str; 11] = [
    "client",
    "connection",
    "prefix",
    "ensureExists",
    "ensureSchemaExists",
    "pluginDivisionMode",
    "role",
    "knexConfig",
    "skipMigrations",
    "plugin",
    "schemaPrefix",
];

/// Keys of `backend.database.plugin.<pluginId>` that Backstage reads (`getEnsureSchemaExistsConfig`
/// is what `computePgPluginConfig` actually looks up for the per-plugin schema flag).
const PLUGIN_KEYS: [&str; 8] = [
    "client",
    "connection",
    "ensureExists",
    "ensureSchemaExists",
    "getEnsureSchemaExistsConfig",
    "knexConfig",
    "role",
    "skipMigrations",
];

/// node-postgres connection settings that do not change where or as whom the inspector connects.
const HARMLESS_CONNECTION_KEYS: [&str; 14] = [
    "application_name",
    "fallback_application_name",
    "connectionTimeoutMillis",
    "statement_timeout",
    "query_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "keepAlive",
    "keepAliveInitialDelayMillis",
    "options",
    "client_encoding",
    "binary",
    "types",
    "parseInputDatesAsUTC",
];

/// Query parameters of a connection URI that [`ConnInfo::parse`] understands.
const CONNINFO_URI_KEYS: [&str; 18] = [
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "sslrootcert",
    "connect_timeout",
    "application_name",
    "fallback_application_name",
    "options",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "target_session_attrs",
    "gssencmode",
    "channel_binding",
    "sslsni",
];

/// One value that was read, for showing the user what was used and from where.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReadValue {
    /// The config key, e.g. `backend.database.connection.host`.
    pub key: String,
    /// The value; secrets are masked.
    pub value: String,
    /// The file it came from, or `env FOO` / `file /path` for substitutions, or `env PGHOST`
    /// for node-postgres' own fallbacks.
    pub source: String,
}

/// The result of [`import`]: a profile, the secrets found next to it, and an account of what
/// was read.
#[derive(Debug)]
pub struct Imported {
    /// The profile; holds no secret.
    pub profile: Profile,
    /// The password of `backend.database.connection` (or of its connection string).
    pub password: Option<Secret>,
    /// Passwords of plugin overrides that differ from [`Imported::password`] (plugin id ->
    /// secret); those overrides have `own_password` set.
    pub plugin_passwords: BTreeMap<String, Secret>,
    /// The files read, in merge order.
    pub files: Vec<PathBuf>,
    /// The values used, in the order they were read.
    pub read: Vec<ReadValue>,
    /// Things the user should know: unset variables, ignored settings, differences between how
    /// Backstage and the inspector connect.
    pub warnings: Vec<String>,
}

/// Imports the profile `name` from Backstage app-config files, merged in the order given
/// (`app-config.yaml` first, then `app-config.local.yaml` or the `--config` files). `env`
/// answers `${VAR}`, `$env` and node-postgres' `PG*` fallbacks.
pub fn import(
    name: &str,
    files: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Imported> {
    validate_name(name)?;
    if files.is_empty() {
        return Err(CoreError::config(
            "no app-config file given; name the files Backstage is started with, in order \
             (for example app-config.yaml app-config.production.yaml)",
        ));
    }
    let files_label = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");

    let mut cx = Cx {
        env,
        read: Vec::new(),
        warnings: Vec::new(),
    };
    let mut merged: Option<Node> = None;
    for file in files {
        if let Some(db) = load_file(file, env, &mut cx.warnings)? {
            merged = Some(merge(merged, db));
        }
    }
    let db = match merged {
        Some(Node::Map(m)) => m,
        Some(other) => {
            return Err(CoreError::config(format!(
                "backend.database{} is {}, not a mapping; it needs at least `client: pg` and \
                 `connection:`",
                other.in_file(),
                other.kind()
            )));
        }
        None => {
            return Err(CoreError::config(format!(
                "no backend.database section in {files_label}: these files do not say how \
                 Backstage connects to its database; add the file that does (often \
                 app-config.production.yaml), in the order Backstage loads them"
            )));
        }
    };

    // client
    check_client(
        db.get("client"),
        "backend.database.client",
        None,
        &files_label,
        &mut cx,
    )?;

    for key in db.keys() {
        if !DATABASE_KEYS.contains(&key.as_str()) {
            cx.warn(format!(
                "backend.database.{key} is not a database setting Backstage reads; ignored"
            ));
        }
    }

    // prefix: `getOptionalString('prefix') || 'backstage_plugin_'`
    let mut prefix = DEFAULT_PREFIX.to_string();
    if let Some(node) = db.get("prefix") {
        let key = "backend.database.prefix";
        match node.text(key)? {
            Some(p) if !p.is_empty() => {
                cx.record(key, &p, node.source());
                prefix = p;
            }
            _ => {}
        }
    }

    // pluginDivisionMode: anything but `schema` behaves as `database` in the pg connector.
    let mut mode = DivisionMode::Database;
    if let Some(node) = db.get("pluginDivisionMode") {
        let key = "backend.database.pluginDivisionMode";
        let value = node.text(key)?.unwrap_or_default();
        cx.record(key, &value, node.source());
        match value.as_str() {
            "schema" => mode = DivisionMode::Schema,
            "database" => {}
            other => cx.warn(format!(
                "{key} is `{other}`{}: Backstage knows `database` and `schema` and treats \
                 anything else as `database`; imported as database mode",
                node.in_file()
            )),
        }
    }

    record_database_flags(&db, "backend.database", &mut cx)?;
    if let Some(node) = db.get("schemaPrefix") {
        let key = "backend.database.schemaPrefix";
        if let Some(v) = node.text(key)? {
            cx.record(key, &v, node.source());
            cx.warn(format!(
                "{key} is `{v}`: the inspector looks for each plugin's schema under the plugin id"
            ));
        }
    }

    // The base connection.
    let conn_key = "backend.database.connection";
    let Some(conn_node) = db.get("connection") else {
        return Err(CoreError::config(format!(
            "{conn_key} is not set in {files_label}; Backstage needs it to connect: add host, \
             port, user and password (or a postgresql:// connection string) there"
        )));
    };
    let mut base = normalize_connection(conn_node, conn_key, &mut cx)?;
    check_connection_type(&mut base, conn_key, None, &mut cx)?;
    let base_res = resolve(&base, conn_key, true, &mut cx)?;

    let mut profile = Profile::new(name, base_res.host.clone(), base_res.user.clone());
    profile.port = base_res.port;
    profile.mode = mode;
    profile.prefix = prefix.clone();
    profile.tls = base_res.tls.clone();

    match mode {
        DivisionMode::Schema => {
            let database = match &base_res.database {
                Some(d) => d.clone(),
                None => schema_default_database(&base_res, conn_key, true, &mut cx),
            };
            profile.database = Some(database);
        }
        _ => {
            if let Some(given) = &base.database
                && let Some(d) = &given.value
            {
                cx.warn(format!(
                    "{conn_key}.database is `{d}` in {}, but Backstage does not use it in \
                     database mode: each plugin has its own database `{prefix}<pluginId>`; the \
                     inspector lists them from the `postgres` database",
                    given.file
                ));
            }
        }
    }

    // Plugin overrides.
    let mut plugin_passwords = BTreeMap::new();
    if let Some(node) = db.get("plugin") {
        let Node::Map(plugins) = node else {
            return Err(CoreError::config(format!(
                "backend.database.plugin{} is {}; it should map plugin ids to their settings, \
                 e.g. `plugin: {{ catalog: {{ connection: {{ host: ... }} }} }}`",
                node.in_file(),
                node.kind()
            )));
        };
        for (id, settings) in plugins {
            let key = format!("backend.database.plugin.{id}");
            let Node::Map(settings) = settings else {
                return Err(CoreError::config(format!(
                    "{key}{} is {}, not a mapping of settings (client, connection, ...)",
                    settings.in_file(),
                    settings.kind()
                )));
            };
            check_client(
                settings.get("client"),
                &format!("{key}.client"),
                Some(id),
                &files_label,
                &mut cx,
            )?;
            for k in settings.keys() {
                if !PLUGIN_KEYS.contains(&k.as_str()) {
                    cx.warn(format!(
                        "{key}.{k} is not a plugin database setting Backstage reads; ignored"
                    ));
                }
            }
            record_database_flags(settings, &key, &mut cx)?;
            let Some(conn_node) = settings.get("connection") else {
                continue;
            };
            let pkey = format!("{key}.connection");
            let mut own = normalize_connection(conn_node, &pkey, &mut cx)?;
            check_connection_type(&mut own, &pkey, Some(id), &mut cx)?;
            let mut effective = base.clone();
            if mode != DivisionMode::Schema {
                effective.database = None;
            }
            effective.overlay(own);
            let res = resolve(&effective, &pkey, false, &mut cx)?;

            let database = match mode {
                DivisionMode::Schema => {
                    let d = match &res.database {
                        Some(d) => d.clone(),
                        None => schema_default_database(&res, &pkey, false, &mut cx),
                    };
                    (profile.database.as_deref() != Some(d.as_str())).then_some(d)
                }
                _ => res
                    .database
                    .clone()
                    .filter(|d| *d != format!("{prefix}{id}")),
            };
            let mut over = PluginOverride {
                host: (res.host != profile.host).then(|| res.host.clone()),
                port: (res.port != profile.port).then_some(res.port),
                user: (res.user != profile.user).then(|| res.user.clone()),
                database,
                tls: (res.tls != profile.tls).then(|| res.tls.clone()),
                own_password: false,
            };
            if let Some(pw) = res.password {
                let same = base_res
                    .password
                    .as_ref()
                    .is_some_and(|b| b.expose() == pw.expose());
                if !same {
                    over.own_password = true;
                    plugin_passwords.insert(id.clone(), pw);
                }
            }
            if over != PluginOverride::default() {
                profile.plugins.insert(id.clone(), over);
            }
        }
    }

    profile.source = Some(format!("app-config: {files_label}"));
    tracing::debug!(
        files = files.len(),
        plugins = profile.plugins.len(),
        warnings = cx.warnings.len(),
        "imported a profile from app-config"
    );
    Ok(Imported {
        profile,
        password: base_res.password,
        plugin_passwords,
        files: files.to_vec(),
        read: cx.read,
        warnings: cx.warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// The config tree: YAML after Backstage's transforms, each leaf knowing where it came from.

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Map(BTreeMap<String, Node>),
    Seq(Vec<Node>),
    Leaf(Leaf),
}

#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    value: Scalar,
    origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Origin {
    /// The app-config file.
    file: PathBuf,
    via: Via,
}

#[derive(Debug, Clone, PartialEq)]
enum Via {
    /// Written in the file.
    Literal,
    /// `${VAR}` substitutions or `$env`.
    Env(Vec<String>),
    /// `$file`, with the file's absolute path.
    File(PathBuf),
}

impl Origin {
    fn source(&self) -> String {
        match &self.via {
            Via::Literal => self.file.display().to_string(),
            Via::Env(vars) => vars
                .iter()
                .map(|v| format!("env {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            Via::File(path) => format!("file {}", path.display()),
        }
    }
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Map(_) => "a mapping",
            Node::Seq(_) => "a list",
            Node::Leaf(l) => match l.value {
                Scalar::Null => "empty (null)",
                Scalar::Bool(_) => "a boolean",
                Scalar::Number(_) => "a number",
                Scalar::Str(_) => "a string",
            },
        }
    }

    fn first_origin(&self) -> Option<&Origin> {
        match self {
            Node::Leaf(l) => Some(&l.origin),
            Node::Seq(items) => items.iter().find_map(Node::first_origin),
            Node::Map(m) => m.values().find_map(Node::first_origin),
        }
    }

    /// ` in FILE` when the node's file is known.
    fn in_file(&self) -> String {
        self.first_origin()
            .map(|o| format!(" in {}", o.file.display()))
            .unwrap_or_default()
    }

    fn source(&self) -> String {
        self.first_origin().map(Origin::source).unwrap_or_default()
    }

    /// A scalar as text (`None` for null); an error for mappings and lists. Never quotes the
    /// value, so it is safe for secrets.
    fn text(&self, key: &str) -> Result<Option<String>> {
        match self {
            Node::Leaf(l) => Ok(match &l.value {
                Scalar::Null => None,
                Scalar::Bool(b) => Some(b.to_string()),
                Scalar::Number(n) => Some(n.clone()),
                Scalar::Str(s) => Some(s.clone()),
            }),
            other => Err(CoreError::config(format!(
                "{key}{} is {}; expected a single value",
                other.in_file(),
                other.kind()
            ))),
        }
    }

    /// How a (non-secret) value is shown in [`ReadValue`].
    fn display(&self) -> String {
        match self {
            Node::Leaf(l) => match &l.value {
                Scalar::Null => "null".to_string(),
                Scalar::Bool(b) => b.to_string(),
                Scalar::Number(n) => n.clone(),
                Scalar::Str(s) => s.clone(),
            },
            Node::Seq(_) => "(list)".to_string(),
            Node::Map(_) => "(mapping)".to_string(),
        }
    }
}

/// Deep merge as `ConfigReader` does: mappings key by key, everything else replaced.
fn merge(base: Option<Node>, over: Node) -> Node {
    match (base, over) {
        (Some(Node::Map(mut into)), Node::Map(from)) => {
            for (key, value) in from {
                let previous = into.remove(&key);
                into.insert(key, merge(previous, value));
            }
            Node::Map(into)
        }
        (_, over) => over,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading one file.

struct FileCx<'a> {
    path: &'a Path,
    dir: PathBuf,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl FileCx<'_> {
    fn leaf(&self, value: Scalar, via: Via) -> Node {
        Node::Leaf(Leaf {
            value,
            origin: Origin {
                file: self.path.to_path_buf(),
                via,
            },
        })
    }
}

/// Reads one app-config file and returns its `backend.database`, transformed.
fn load_file(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        CoreError::config(format!(
            "cannot read app-config file {shown}: {e}; check the path (give the files Backstage \
             is started with, in the same order)"
        ))
    })?;
    let root: Value = serde_yaml::from_str(&text).map_err(|e| yaml_error(path, &e))?;
    let root = match untag(&root) {
        Value::Null => return Ok(None),
        Value::Mapping(m) => m,
        other => {
            return Err(CoreError::config(format!(
                "{shown}: the top level is {}, not a mapping of keys; an app-config file starts \
                 with keys such as `app:` and `backend:`",
                yaml_kind(other)
            )));
        }
    };
    reject_root_include(root, "the top level", path)?;
    let Some(backend) = root.get("backend") else {
        return Ok(None);
    };
    let backend = match untag(backend) {
        Value::Mapping(m) => m,
        Value::Null => {
            return Err(CoreError::config(format!(
                "`backend` in {shown} is empty, so Backstage cannot read backend.database from \
                 it; remove the empty `backend:` line or fill it in"
            )));
        }
        other => {
            return Err(CoreError::config(format!(
                "`backend` in {shown} is {}, not a mapping; it should hold keys such as \
                 `baseUrl:` and `database:`",
                yaml_kind(other)
            )));
        }
    };
    reject_root_include(backend, "backend", path)?;
    let Some(database) = backend.get("database") else {
        return Ok(None);
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let cx = FileCx { path, dir, env };
    transform(database, "backend.database", &cx, warnings)
}

/// `$include` and friends above `backend.database` would change what it is; they are not read.
fn reject_root_include(map: &serde_yaml::Mapping, what: &str, path: &Path) -> Result<()> {
    if let Some(k) = include_key(map) {
        return Err(CoreError::config(format!(
            "{what} of {} uses `{k}`, which Backstage Inspector does not read; write the \
             backend.database settings into the file itself",
            path.display()
        )));
    }
    Ok(())
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

fn yaml_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// `FILE line L column C: problem (while ...)`, from a YAML syntax error.
fn yaml_error(path: &Path, e: &serde_yaml::Error) -> CoreError {
    let full = e.to_string();
    let cut = full
        .find(" at line ")
        .or_else(|| full.find(" at position "));
    let mut message = cut.map_or(full.as_str(), |i| &full[..i]).to_string();
    if let Some(i) = cut
        && let Some(context) = full[i..].split_once(", ").map(|(_, c)| c)
    {
        let context = context.split(" at line ").next().unwrap_or(context).trim();
        if !context.is_empty() {
            message = format!("{message} ({context})");
        }
    }
    let place = match e.location() {
        Some(loc) => format!(
            "{} line {} column {}",
            path.display(),
            loc.line(),
            loc.column()
        ),
        None => path.display().to_string(),
    };
    CoreError::config(format!(
        "{place}: {message}; fix the YAML there (Backstage cannot read this file either)"
    ))
}

fn include_key(map: &serde_yaml::Mapping) -> Option<&'static str> {
    INCLUDE_KEYS
        .into_iter()
        .find(|k| map.contains_key(Value::String((*k).to_string())))
}

/// Backstage's `applyConfigTransforms` with the substitution and include transforms, for one
/// value at `key`. `None` means undefined: the key is dropped.
fn transform(
    value: &Value,
    key: &str,
    cx: &FileCx<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    Ok(Some(match value {
        Value::Null => cx.leaf(Scalar::Null, Via::Literal),
        Value::Bool(b) => cx.leaf(Scalar::Bool(*b), Via::Literal),
        Value::Number(n) => cx.leaf(Scalar::Number(n.to_string()), Via::Literal),
        Value::String(s) => match substitute(s, cx.env) {
            Subst::Literal(s) => cx.leaf(Scalar::Str(s), Via::Literal),
            Subst::Value(s, vars) => cx.leaf(Scalar::Str(s), Via::Env(vars)),
            Subst::Missing(vars) => {
                for var in vars {
                    warnings.push(missing_variable(&format!("${{{var}}}"), key, cx.path));
                }
                return Ok(None);
            }
        },
        Value::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(node) = transform(item, &format!("{key}[{i}]"), cx, warnings)? {
                    out.push(node);
                }
            }
            Node::Seq(out)
        }
        Value::Mapping(map) => {
            if let Some(kind) = include_key(map) {
                if map.len() != 1 {
                    return Err(CoreError::config(format!(
                        "{key} in {}: `{kind}` cannot have other keys next to it; move the \
                         other keys out of this mapping",
                        cx.path.display()
                    )));
                }
                let raw = map.get(kind).unwrap_or(&Value::Null);
                return include(kind, raw, key, cx, warnings);
            }
            let mut out = BTreeMap::new();
            for (k, v) in map {
                let k = match untag(k) {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(CoreError::config(format!(
                            "{key} in {} has a key that is {}; keys must be names",
                            cx.path.display(),
                            yaml_kind(other)
                        )));
                    }
                };
                if let Some(node) = transform(v, &format!("{key}.{k}"), cx, warnings)? {
                    out.insert(k, node);
                }
            }
            Node::Map(out)
        }
        Value::Tagged(t) => return transform(&t.value, key, cx, warnings),
    }))
}

fn missing_variable(what: &str, key: &str, file: &Path) -> String {
    format!(
        "{what} is not set in the environment ({key} in {}): Backstage treats that value as \
         unset; set the variable, or give the value when connecting",
        file.display()
    )
}

/// `$env`, `$file` and `$include` (`transform/include.ts`).
fn include(
    kind: &str,
    raw: &Value,
    key: &str,
    cx: &FileCx<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>> {
    let file = cx.path.display();
    if kind == "$include" {
        return Err(CoreError::config(format!(
            "{key} in {file} uses `$include`, which Backstage Inspector does not read; copy the \
             included values into {file}, or use `$file`/`$env` for single values"
        )));
    }
    let Value::String(raw) = untag(raw) else {
        return Err(CoreError::config(format!(
            "`{kind}` at {key} in {file} must be a string ({})",
            if kind == "$env" {
                "a variable name"
            } else {
                "a file path"
            }
        )));
    };
    let target = match substitute(raw, cx.env) {
        Subst::Literal(s) | Subst::Value(s, _) => s,
        Subst::Missing(vars) => {
            return Err(CoreError::config(format!(
                "`{kind}` at {key} in {file} uses ${{{}}}, which is not set; set it or write the \
                 value out",
                vars.join("}, ${")
            )));
        }
    };
    if kind == "$env" {
        return Ok(match (cx.env)(&target) {
            Some(v) => Some(cx.leaf(Scalar::Str(v.trim().to_string()), Via::Env(vec![target]))),
            None => {
                warnings.push(missing_variable(&format!("`$env: {target}`"), key, cx.path));
                None
            }
        });
    }
    let joined = cx.dir.join(&target);
    let path = std::path::absolute(&joined).unwrap_or(joined);
    let content = std::fs::read_to_string(&path).map_err(|e| {
        CoreError::config(format!(
            "cannot read {} (`$file` at {key} in {file}): {e}; the path is relative to the \
             folder of {file}",
            path.display()
        ))
    })?;
    Ok(Some(cx.leaf(
        Scalar::Str(content.trim_end().to_string()),
        Via::File(path),
    )))
}

#[derive(Debug, PartialEq)]
enum Subst {
    /// No variable used (escapes may have been resolved).
    Literal(String),
    /// Variables used, all set.
    Value(String, Vec<String>),
    /// These variables are not set: the whole value is undefined.
    Missing(Vec<String>),
}

/// `transform/substitution.ts`: splits on `\$?\$\{[^{}]*\}`; `$${...}` loses one `$`, `${NAME}`
/// becomes the trimmed variable (name trimmed too).
fn substitute(input: &str, env: &dyn Fn(&str) -> Option<String>) -> Subst {
    let mut out = String::with_capacity(input.len());
    let mut used = Vec::new();
    let mut missing = Vec::new();
    let mut last = 0;
    let mut i = 0;
    while let Some(offset) = input[i..].find('$') {
        let start = i + offset;
        let rest = &input[start..];
        let (escaped, open) = if rest.starts_with("$${") {
            (true, start + 3)
        } else if rest.starts_with("${") {
            (false, start + 2)
        } else {
            i = start + 1;
            continue;
        };
        let close = input[open..]
            .find(['{', '}'])
            .map(|o| open + o)
            .filter(|&c| input.as_bytes()[c] == b'}');
        let Some(close) = close else {
            i = start + 1;
            continue;
        };
        out.push_str(&input[last..start]);
        if escaped {
            out.push_str(&input[start + 1..=close]);
        } else {
            let name = input[open..close].trim();
            match Some(name).filter(|n| !n.is_empty()).and_then(env) {
                Some(v) => {
                    out.push_str(v.trim());
                    used.push(name.to_string());
                }
                None => missing.push(name.to_string()),
            }
        }
        last = close + 1;
        i = close + 1;
    }
    out.push_str(&input[last..]);
    if !missing.is_empty() {
        Subst::Missing(missing)
    } else if used.is_empty() {
        Subst::Literal(out)
    } else {
        Subst::Value(out, used)
    }
}

// ---------------------------------------------------------------------------------------------
// Interpreting backend.database.

struct Cx<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    read: Vec<ReadValue>,
    warnings: Vec<String>,
}

impl Cx<'_> {
    fn record(&mut self, key: &str, value: &str, source: String) {
        self.read.push(ReadValue {
            key: key.to_string(),
            value: value.to_string(),
            source,
        });
    }

    fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }
}

/// A connection setting that was given (`None` when the key is absent).
#[derive(Clone)]
struct Given<T> {
    /// `None` when null or empty: falsy for node-postgres, which then falls back to `PG*`.
    value: Option<T>,
    /// The app-config file, for messages.
    file: String,
}

/// TLS as given by `ssl` or a connection string.
#[derive(Clone)]
struct TlsGiven {
    settings: TlsSettings,
}

/// A connection after `normalizeConnection`: the keys present, before node-postgres' defaults.
#[derive(Clone, Default)]
struct Conn {
    host: Option<Given<String>>,
    port: Option<Given<String>>,
    user: Option<Given<String>>,
    password: Option<Given<Secret>>,
    database: Option<Given<String>>,
    ssl: Option<TlsGiven>,
    /// `type` (`default`, `azure`, `rds`, `cloudsql`) and its file.
    kind: Option<(String, String)>,
    instance: Option<String>,
}

impl Conn {
    /// `{...self, ...other}`.
    fn overlay(&mut self, other: Conn) {
        if other.host.is_some() {
            self.host = other.host;
        }
        if other.port.is_some() {
            self.port = other.port;
        }
        if other.user.is_some() {
            self.user = other.user;
        }
        if other.password.is_some() {
            self.password = other.password;
        }
        if other.database.is_some() {
            self.database = other.database;
        }
        if other.ssl.is_some() {
            self.ssl = other.ssl;
        }
        if other.kind.is_some() {
            self.kind = other.kind;
        }
        if other.instance.is_some() {
            self.instance = other.instance;
        }
    }
}

fn check_client(
    node: Option<&Node>,
    key: &str,
    plugin: Option<&str>,
    files_label: &str,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let Some(node) = node else {
        return match plugin {
            Some(_) => Ok(()),
            None => Err(CoreError::config(format!(
                "{key} is not set in {files_label}; Backstage needs it, and the inspector reads \
                 only `client: pg` (PostgreSQL)"
            ))),
        };
    };
    let file = node
        .first_origin()
        .map(|o| o.file.display().to_string())
        .unwrap_or_else(|| files_label.to_string());
    let client = match node {
        Node::Leaf(Leaf {
            value: Scalar::Str(s),
            ..
        }) => s.clone(),
        other => {
            return Err(CoreError::config(format!(
                "{key} in {file} is {}; it should be `pg`",
                other.kind()
            )));
        }
    };
    cx.record(key, &client, node.source());
    match (client.as_str(), plugin) {
        ("pg", _) => Ok(()),
        ("postgres" | "postgresql", _) => Err(CoreError::config(format!(
            "{key} is `{client}` in {file}: Backstage accepts only `pg` for PostgreSQL (its \
             DatabaseManager knows pg, better-sqlite3, sqlite3, mysql and mysql2), so that \
             Backstage cannot start with this file; change it to `client: pg`"
        ))),
        (_, None) => Err(CoreError::config(format!(
            "{key} is `{client}` in {file}: Backstage Inspector reads PostgreSQL only; point it \
             at the app-config of a Backstage that uses `client: pg`"
        ))),
        (_, Some(id)) => Err(CoreError::config(format!(
            "{key} is `{client}` in {file}: the plugin `{id}` keeps its data outside PostgreSQL, \
             and Backstage Inspector reads PostgreSQL only; import files where `{id}` uses \
             `client: pg` (or has no client override)"
        ))),
    }
}

/// `ensureExists`, `ensureSchemaExists`, `role`, `knexConfig`, `skipMigrations` at `prefix`.
fn record_database_flags(
    map: &BTreeMap<String, Node>,
    prefix: &str,
    cx: &mut Cx<'_>,
) -> Result<()> {
    for flag in [
        "ensureExists",
        "ensureSchemaExists",
        "getEnsureSchemaExistsConfig",
    ] {
        if let Some(node) = map.get(flag) {
            let key = format!("{prefix}.{flag}");
            let value = node.text(&key)?.unwrap_or_default();
            cx.record(&key, &value, node.source());
            if value == "true" {
                cx.warn(format!(
                    "{key} is true: Backstage creates missing databases or schemas when it \
                     starts; the inspector never creates them unless asked, so those Backstage \
                     has not created yet show as missing"
                ));
            }
        }
    }
    if let Some(node) = map.get("skipMigrations") {
        let key = format!("{prefix}.skipMigrations");
        cx.record(&key, &node.display(), node.source());
    }
    if let Some(node) = map.get("role") {
        let key = format!("{prefix}.role");
        if let Some(role) = node.text(&key)? {
            cx.record(&key, &role, node.source());
            cx.warn(format!(
                "{key} is `{role}`: Backstage runs `SET ROLE {role}` on its connections; the \
                 inspector connects as the user itself, so what it may read can differ"
            ));
        }
    }
    if let Some(node) = map.get("knexConfig") {
        let key = format!("{prefix}.knexConfig");
        cx.record(&key, &node.display(), node.source());
        cx.warn(format!(
            "{key} is set{}: it tunes Backstage's Knex client and is ignored by the inspector",
            node.in_file()
        ));
    }
    Ok(())
}

/// `normalizeConnection`: a mapping, or a connection string parsed the way
/// `pg-connection-string` does.
fn normalize_connection(node: &Node, key: &str, cx: &mut Cx<'_>) -> Result<Conn> {
    match node {
        Node::Leaf(Leaf {
            value: Scalar::Str(s),
            origin,
        }) => connection_string(s, key, origin, cx),
        Node::Leaf(Leaf {
            value: Scalar::Null,
            ..
        }) => Ok(Conn::default()),
        Node::Map(map) => connection_map(map, key, cx),
        other => Err(CoreError::config(format!(
            "{key}{} is {}; give a mapping (host, port, user, password, database, ssl) or a \
             connection string such as postgresql://user:password@host:5432",
            other.in_file(),
            other.kind()
        ))),
    }
}

fn file_of(node: &Node) -> String {
    node.first_origin()
        .map(|o| o.file.display().to_string())
        .unwrap_or_default()
}

fn given_text(node: &Node, key: &str, cx: &mut Cx<'_>) -> Result<Given<String>> {
    let value = match node {
        Node::Leaf(Leaf {
            value: Scalar::Bool(_),
            ..
        }) => {
            return Err(CoreError::config(format!(
                "{key}{} is a boolean; expected a string",
                node.in_file()
            )));
        }
        other => other.text(key)?,
    }
    .filter(|v| !v.is_empty());
    if let Some(v) = &value {
        cx.record(key, v, node.source());
    }
    Ok(Given {
        value,
        file: file_of(node),
    })
}

fn given_secret(node: &Node, key: &str, cx: &mut Cx<'_>) -> Result<Given<Secret>> {
    let value = node.text(key)?.filter(|v| !v.is_empty()).map(Secret::new);
    if value.is_some() {
        cx.record(key, MASKED, node.source());
    }
    Ok(Given {
        value,
        file: file_of(node),
    })
}

fn connection_map(map: &BTreeMap<String, Node>, key: &str, cx: &mut Cx<'_>) -> Result<Conn> {
    let mut conn = Conn::default();
    let mut from_string = None;
    for (k, node) in map {
        let sub = format!("{key}.{k}");
        match k.as_str() {
            "host" => conn.host = Some(given_text(node, &sub, cx)?),
            "port" => conn.port = Some(given_text(node, &sub, cx)?),
            "user" => conn.user = Some(given_text(node, &sub, cx)?),
            "database" => conn.database = Some(given_text(node, &sub, cx)?),
            "password" => conn.password = Some(given_secret(node, &sub, cx)?),
            "ssl" => conn.ssl = Some(tls_from_node(node, &sub, cx)?),
            "type" => {
                if let Some(t) = node.text(&sub)? {
                    cx.record(&sub, &t, node.source());
                    conn.kind = Some((t, file_of(node)));
                }
            }
            "instance" => {
                if let Some(i) = node.text(&sub)? {
                    cx.record(&sub, &i, node.source());
                    conn.instance = Some(i);
                }
            }
            "connectionString" => {
                // node-postgres: `Object.assign({}, config, parse(config.connectionString))`.
                if let Node::Leaf(Leaf {
                    value: Scalar::Str(s),
                    origin,
                }) = node
                {
                    from_string = Some(connection_string(s, &sub, origin, cx)?);
                }
            }
            // Used by the `azure` and `rds` connection types; never shown (clientSecret).
            "tokenCredential" | "region" | "ipAddressType" => {}
            k if HARMLESS_CONNECTION_KEYS.contains(&k) => {}
            _ => cx.warn(format!(
                "{sub} is not a connection setting the inspector uses; ignored"
            )),
        }
    }
    if let Some(parsed) = from_string {
        conn.overlay(parsed);
    }
    Ok(conn)
}

/// `ssl` of a connection object, as node-postgres and Node's TLS read it.
fn tls_from_node(node: &Node, key: &str, cx: &mut Cx<'_>) -> Result<TlsGiven> {
    let file = file_of(node);
    let mut settings = TlsSettings::default();
    match node {
        Node::Leaf(leaf) => {
            cx.record(key, &node.display(), node.source());
            settings.sslmode = match &leaf.value {
                Scalar::Bool(true) => SslMode::VerifyFull,
                Scalar::Bool(false) | Scalar::Null => SslMode::Disable,
                Scalar::Number(n) if n.parse::<f64>().is_ok_and(|v| v == 0.0) => SslMode::Disable,
                Scalar::Number(_) => SslMode::VerifyFull,
                Scalar::Str(s) if s.is_empty() => SslMode::Disable,
                Scalar::Str(s) if s == "true" => SslMode::VerifyFull,
                Scalar::Str(s) if s == "no-verify" => SslMode::Require,
                Scalar::Str(s) => {
                    cx.warn(format!(
                        "{key} is the string `{s}` in {file}: node-postgres treats any string \
                         other than `no-verify` as on, so Backstage uses TLS with certificate \
                         checks; imported as sslmode verify-full (write `ssl: false` to turn TLS \
                         off)"
                    ));
                    SslMode::VerifyFull
                }
            };
        }
        Node::Map(map) => {
            let mut reject_unauthorized = true;
            let mut ca: Option<(Option<PathBuf>, Option<String>)> = None;
            for (k, v) in map {
                let sub = format!("{key}.{k}");
                match k.as_str() {
                    "rejectUnauthorized" => {
                        cx.record(&sub, &v.display(), v.source());
                        match v {
                            Node::Leaf(Leaf {
                                value: Scalar::Bool(b),
                                ..
                            }) => reject_unauthorized = *b,
                            Node::Leaf(Leaf {
                                value: Scalar::Null,
                                ..
                            }) => {}
                            other => cx.warn(format!(
                                "{sub}{} is {}, not a boolean: Node only skips certificate \
                                 checks for the boolean `false`, so Backstage checks them",
                                other.in_file(),
                                other.kind()
                            )),
                        }
                    }
                    "ca" => ca = ca_from_node(v, &sub, cx)?,
                    "cert" | "key" | "pfx" | "passphrase" => cx.warn(format!(
                        "{key} has a client certificate (`{k}`){}: the inspector does not send \
                         client certificates, so a server that requires one will refuse it",
                        v.in_file()
                    )),
                    // `require` appears in Backstage's docs but node-postgres ignores it.
                    "require" | "servername" | "minVersion" | "maxVersion" | "ciphers" => {}
                    _ => cx.warn(format!(
                        "{sub} is not a TLS setting the inspector uses; ignored"
                    )),
                }
            }
            if reject_unauthorized {
                settings.sslmode = SslMode::VerifyFull;
                if let Some((path, pem)) = ca {
                    settings.root_cert = path;
                    settings.root_cert_pem = pem;
                }
            } else {
                settings.sslmode = SslMode::Require;
                if ca.is_some() {
                    cx.warn(format!(
                        "{key}.ca is ignored because {key}.rejectUnauthorized is false: Node \
                         checks no certificate then, and neither does the inspector (sslmode \
                         require)"
                    ));
                }
            }
        }
        Node::Seq(_) => {
            return Err(CoreError::config(format!(
                "{key}{} is a list; use `true`, `false` or a mapping such as \
                 `{{ rejectUnauthorized: false }}` or `{{ ca: {{ $file: ca.pem }} }}`",
                node.in_file()
            )));
        }
    }
    Ok(TlsGiven { settings })
}

/// `ssl.ca`: PEM text (a path when it came from `$file`), or a list of them.
fn ca_from_node(
    node: &Node,
    key: &str,
    cx: &mut Cx<'_>,
) -> Result<Option<(Option<PathBuf>, Option<String>)>> {
    let leaves: Vec<&Leaf> = match node {
        Node::Leaf(Leaf {
            value: Scalar::Null,
            ..
        }) => return Ok(None),
        Node::Leaf(l) => vec![l],
        Node::Seq(items) => {
            let mut leaves = Vec::new();
            for item in items {
                match item {
                    Node::Leaf(l) => leaves.push(l),
                    other => {
                        return Err(CoreError::config(format!(
                            "{key}{} holds {}; expected PEM certificates",
                            other.in_file(),
                            other.kind()
                        )));
                    }
                }
            }
            leaves
        }
        Node::Map(_) => {
            return Err(CoreError::config(format!(
                "{key}{} is a mapping; give the CA certificate as PEM text, usually \
                 `ca: {{ $file: path/to/ca.pem }}`",
                node.in_file()
            )));
        }
    };
    let mut pems = Vec::new();
    let mut paths = Vec::new();
    for leaf in &leaves {
        let Scalar::Str(text) = &leaf.value else {
            return Err(CoreError::config(format!(
                "{key} in {} is not text; give the CA certificate as PEM text, usually \
                 `ca: {{ $file: path/to/ca.pem }}`",
                leaf.origin.file.display()
            )));
        };
        let certificates = text.matches("-----BEGIN CERTIFICATE-----").count();
        match &leaf.origin.via {
            Via::File(path) => {
                if certificates == 0 {
                    cx.warn(format!(
                        "{key}: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        path.display()
                    ));
                }
                cx.record(
                    key,
                    &format!("{} ({certificates} certificate(s))", path.display()),
                    leaf.origin.source(),
                );
                paths.push(path.clone());
            }
            _ if certificates == 0 && !text.contains('\n') => {
                // A path written where Node expects the certificate itself: a common slip.
                let joined = leaf
                    .origin
                    .file
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(text);
                cx.warn(format!(
                    "{key} in {} looks like a file path, but Backstage (Node) expects the PEM \
                     text itself, as `ca: {{ $file: {text} }}` gives it; the inspector uses it \
                     as a file path",
                    leaf.origin.file.display()
                ));
                cx.record(key, &joined.display().to_string(), leaf.origin.source());
                paths.push(joined);
            }
            _ => {
                cx.record(
                    key,
                    &format!("inline PEM ({certificates} certificate(s))"),
                    leaf.origin.source(),
                );
                pems.push(text.clone());
            }
        }
    }
    Ok(match (paths.len(), pems.len()) {
        (0, 0) => None,
        (1, 0) => paths.pop().map(|p| (Some(p), None)),
        _ => {
            // Several CAs: one PEM bundle.
            let mut bundle = pems;
            for path in &paths {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    CoreError::config(format!("cannot read {} ({key}): {e}", path.display()))
                })?;
                bundle.push(text.trim_end().to_string());
            }
            Some((None, Some(bundle.join("\n"))))
        }
    })
}

/// A connection string: a URI the way `pg-connection-string` reads it, or (not understood by
/// node-postgres, accepted for convenience) a libpq key=value string.
fn connection_string(input: &str, key: &str, origin: &Origin, cx: &mut Cx<'_>) -> Result<Conn> {
    let s = input.trim();
    let file = origin.file.display().to_string();
    let rest = ["postgresql://", "postgres://", "pg://"]
        .into_iter()
        .find_map(|scheme| s.strip_prefix(scheme));
    let (ci, tls, shown) = if let Some(rest) = rest {
        let (head, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut kept = Vec::new();
        let mut ssl = None;
        let mut sslmode = None;
        let mut libpq = false;
        let mut rootcert = false;
        let mut client_cert = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k);
            let v = decode(v);
            match k.as_str() {
                "ssl" => ssl = Some(v),
                "sslmode" => sslmode = Some(v),
                "uselibpqcompat" => libpq = v == "true",
                "sslcompat" => libpq = v == "libpq",
                "sslcert" | "sslkey" => client_cert = true,
                "sslrootcert" => {
                    rootcert = true;
                    kept.push(pair);
                }
                k if CONNINFO_URI_KEYS.contains(&k) => {
                    if pair.contains('=') {
                        kept.push(pair);
                    }
                }
                other => cx.warn(format!(
                    "{key} in {file}: the parameter `{other}` is not used by the inspector; \
                     ignored"
                )),
            }
        }
        let rebuilt = if kept.is_empty() {
            format!("postgresql://{head}")
        } else {
            format!("postgresql://{head}?{}", kept.join("&"))
        };
        let candidates = uri_password_candidates(rest);
        let ci = ConnInfo::parse(&rebuilt).map_err(|e| {
            CoreError::config(scrub(
                &format!("{key} in {file} is not a valid connection string: {e}"),
                &candidates,
            ))
        })?;
        if client_cert {
            cx.warn(format!(
                "{key} in {file} has a client certificate (sslcert/sslkey): the inspector does \
                 not send client certificates, so a server that requires one will refuse it"
            ));
        }
        let tls = uri_tls(
            ssl.as_deref(),
            sslmode.as_deref(),
            libpq,
            rootcert,
            client_cert,
            &ci,
            key,
            &file,
            cx,
        )?;
        let shown = scrub(&format!("postgresql://{}", redact_uri(rest)), &candidates);
        (ci, tls, shown)
    } else if s.contains('=') {
        cx.warn(format!(
            "{key} in {file} is a key=value connection string: node-postgres reads only URIs \
             (postgresql://...), so Backstage itself probably cannot use it; the inspector reads \
             it with libpq's rules"
        ));
        let candidates = keyvalue_password_candidates(s);
        let ci = ConnInfo::parse(s).map_err(|e| {
            CoreError::config(scrub(
                &format!("{key} in {file} is not a valid connection string: {e}"),
                &candidates,
            ))
        })?;
        let tls = ci.sslmode.map(|mode| TlsGiven {
            settings: TlsSettings {
                sslmode: mode,
                root_cert: ci.sslrootcert.clone(),
                root_cert_pem: None,
            },
        });
        let shown = keyvalue_display(&ci);
        (ci, tls, shown)
    } else {
        return Err(CoreError::config(format!(
            "{key} in {file} is not a connection string Backstage understands; use a URI such \
             as postgresql://user:password@host:5432, or a mapping with host, port, user and \
             password"
        )));
    };
    cx.record(key, &shown, origin.source());
    let text = |v: Option<String>| Given {
        value: v.filter(|v| !v.is_empty()),
        file: file.clone(),
    };
    // pg-connection-string always sets host, port, user, password and database.
    Ok(Conn {
        host: Some(text(ci.host)),
        port: Some(text(ci.port.map(|p| p.to_string()))),
        user: Some(text(ci.user)),
        password: Some(Given {
            value: ci.password.filter(|p| !p.is_empty()),
            file: file.clone(),
        }),
        database: Some(text(ci.dbname)),
        ssl: tls,
        kind: None,
        instance: None,
    })
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The TLS of a connection URI by `pg-connection-string`'s rules: `ssl=true|1` on, `ssl=0` off;
/// any `sslmode`/`sslrootcert`/`sslcert`/`sslkey` makes `ssl` an object (certificate checked);
/// `sslmode=disable` off, `no-verify` unchecked, and `prefer`/`require`/`verify-ca` are
/// aliases of `verify-full` unless `uselibpqcompat=true` asks for libpq's meanings.
#[allow(clippy::too_many_arguments)]
fn uri_tls(
    ssl: Option<&str>,
    sslmode: Option<&str>,
    libpq: bool,
    rootcert: bool,
    client_cert: bool,
    ci: &ConnInfo,
    key: &str,
    file: &str,
    cx: &mut Cx<'_>,
) -> Result<Option<TlsGiven>> {
    let mut mode = match ssl {
        None => None,
        Some("true" | "1") => Some(SslMode::VerifyFull),
        Some("0") => Some(SslMode::Disable),
        Some(other) => {
            cx.warn(format!(
                "{key} in {file} has ssl={other}: node-postgres reads only ssl=0 as off, any \
                 other value turns TLS on with certificate checks; imported as sslmode \
                 verify-full"
            ));
            Some(SslMode::VerifyFull)
        }
    };
    if rootcert || client_cert || sslmode.is_some() {
        mode = Some(SslMode::VerifyFull);
    }
    if let Some(m) = sslmode {
        mode = Some(match (m, libpq) {
            ("disable", _) => SslMode::Disable,
            ("prefer", true) => SslMode::Require,
            ("require", true) if rootcert => SslMode::VerifyCa,
            ("require", true) => SslMode::Require,
            ("verify-ca", true) => {
                if !rootcert {
                    return Err(CoreError::config(format!(
                        "{key} in {file} has sslmode=verify-ca with uselibpqcompat but no \
                         sslrootcert; node-postgres refuses that: add sslrootcert or use \
                         sslmode=verify-full"
                    )));
                }
                SslMode::VerifyCa
            }
            ("no-verify", false) => SslMode::Require,
            ("prefer" | "require" | "verify-ca", false) => {
                cx.warn(format!(
                    "{key} in {file} has sslmode={m}: node-postgres treats it as verify-full \
                     (unless uselibpqcompat=true), so Backstage checks the certificate and \
                     host name; imported as sslmode verify-full"
                ));
                SslMode::VerifyFull
            }
            _ => SslMode::VerifyFull,
        });
    }
    Ok(mode.map(|sslmode| TlsGiven {
        settings: TlsSettings {
            sslmode,
            // Node ignores the CA when it checks nothing.
            root_cert: if sslmode == SslMode::Require {
                None
            } else {
                ci.sslrootcert.clone()
            },
            root_cert_pem: None,
        },
    }))
}

/// `user:password@rest` -> (`user`, password, `rest`), split at the last `@` so that an
/// unencoded `@` in a password stays in the password (over-redacting is the safe side).
fn split_userinfo(rest: &str) -> Option<(&str, Option<&str>, &str)> {
    let at = rest.rfind('@')?;
    let (userinfo, after) = (&rest[..at], &rest[at + 1..]);
    Some(match userinfo.split_once(':') {
        Some((user, pw)) => (user, Some(pw), after),
        None => (userinfo, None, after),
    })
}

/// A URI without its scheme, with the password of the user info masked.
fn redact_uri(rest: &str) -> String {
    match split_userinfo(rest) {
        Some((user, Some(_), after)) => format!("{user}:{MASKED}@{after}"),
        _ => rest.to_string(),
    }
}

/// The passwords of a URI (user info and `password=`), as written, decoded, and in the pieces
/// a malformed URI may be cut into; longest first, to keep them out of messages.
fn uri_password_candidates(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |pw: &str| {
        out.push(pw.to_string());
        out.push(decode(pw));
        out.extend(
            pw.split(['/', '?', '#', '@', ':', '&', '='])
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    };
    if let Some((_, Some(pw), _)) = split_userinfo(rest) {
        add(pw);
    }
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some(("password", pw)) = pair.split_once('=') {
                add(pw);
            }
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.len()));
    out.dedup();
    out
}

fn keyvalue_password_candidates(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(i) = s.find("password") {
        let rest = s[i + "password".len()..].trim_start();
        if let Some(rest) = rest.strip_prefix('=') {
            let rest = rest.trim_start();
            let value = match rest.strip_prefix('\'') {
                Some(q) => q.split('\'').next().unwrap_or(q),
                None => rest.split_whitespace().next().unwrap_or(rest),
            };
            out.push(value.to_string());
        }
    }
    // A word without `=` is what a badly quoted value leaves behind; the parser may quote it.
    out.extend(
        s.split_whitespace()
            .filter(|w| !w.contains('='))
            .map(str::to_string),
    );
    out.sort_by_key(|c| std::cmp::Reverse(c.len()));
    out.dedup();
    out
}

/// Replaces every candidate secret in `text` by the mask.
fn scrub(text: &str, candidates: &[String]) -> String {
    let mut out = text.to_string();
    for c in candidates.iter().filter(|c| !c.is_empty()) {
        out = out.replace(c.as_str(), MASKED);
    }
    out
}

fn keyvalue_display(ci: &ConnInfo) -> String {
    let mut parts = Vec::new();
    if let Some(h) = &ci.host {
        parts.push(format!("host={h}"));
    }
    if let Some(p) = ci.port {
        parts.push(format!("port={p}"));
    }
    if let Some(u) = &ci.user {
        parts.push(format!("user={u}"));
    }
    if ci.password.is_some() {
        parts.push(format!("password={MASKED}"));
    }
    if let Some(d) = &ci.dbname {
        parts.push(format!("dbname={d}"));
    }
    if let Some(m) = ci.sslmode {
        parts.push(format!("sslmode={m}"));
    }
    if let Some(r) = &ci.sslrootcert {
        parts.push(format!("sslrootcert={}", r.display()));
    }
    parts.join(" ")
}

/// `connection.type`: `cloudsql` cannot be followed; `azure` and `rds` mint their passwords.
fn check_connection_type(
    conn: &mut Conn,
    key: &str,
    plugin: Option<&str>,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let Some((kind, file)) = conn.kind.clone() else {
        return Ok(());
    };
    let whose = plugin
        .map(|id| format!("the plugin `{id}`"))
        .unwrap_or_else(|| "Backstage".to_string());
    match kind.as_str() {
        "default" => Ok(()),
        "cloudsql" => Err(CoreError::config(format!(
            "{key}.type is `cloudsql` in {file}: {whose} reaches the database through Google's \
             Cloud SQL connector{}, which the inspector cannot use; run the Cloud SQL Auth Proxy \
             and add a profile for its address with `bsi profile add`",
            conn.instance
                .as_deref()
                .map(|i| format!(" (instance `{i}`)"))
                .unwrap_or_default()
        ))),
        "azure" | "rds" => {
            let how = if kind == "azure" {
                "a Microsoft Entra ID access token"
            } else {
                "an AWS RDS IAM authentication token"
            };
            cx.warn(format!(
                "{key}.type is `{kind}` in {file}: {whose} signs in with {how} that it obtains \
                 at run time; the inspector cannot obtain one, so the profile has no password: \
                 give a current token as the password when connecting"
            ));
            conn.password = None;
            Ok(())
        }
        other => Err(CoreError::config(format!(
            "{key}.type is `{other}` in {file}, a connection type Backstage does not know \
             (it knows default, azure, cloudsql and rds); fix the app-config"
        ))),
    }
}

/// A connection with node-postgres' fallbacks applied.
struct Resolved {
    host: String,
    port: u16,
    user: String,
    password: Option<Secret>,
    /// The database given in the config (not the `PGDATABASE`/user-name fallback).
    database: Option<String>,
    tls: TlsSettings,
}

/// node-postgres: `config[key] || process.env.PG<KEY> || defaults[key]`, and for TLS
/// `config.ssl` else `PGSSLMODE` else off. `record` notes the fallbacks in [`Imported::read`].
fn resolve(conn: &Conn, key: &str, record: bool, cx: &mut Cx<'_>) -> Result<Resolved> {
    let given = |g: &Option<Given<String>>| g.as_ref().and_then(|g| g.value.clone());
    let from_env = |cx: &mut Cx<'_>, field: &str, var: &str, secret: bool| {
        let v = cx.env(var)?;
        if record {
            let shown = if secret { MASKED } else { v.as_str() };
            cx.record(&format!("{key}.{field}"), shown, format!("env {var}"));
        }
        Some(v)
    };

    let host = match given(&conn.host) {
        Some(h) => h,
        None => from_env(cx, "host", "PGHOST", false).unwrap_or_else(|| "localhost".to_string()),
    };

    let port = match given(&conn.port) {
        Some(p) => {
            let file = conn.port.as_ref().map(|g| g.file.as_str()).unwrap_or("");
            parse_port(&p).ok_or_else(|| {
                CoreError::config(format!(
                    "{key}.port is `{p}` in {file}, not a port number between 1 and 65535; fix \
                     it in the app-config"
                ))
            })?
        }
        None => match from_env(cx, "port", "PGPORT", false) {
            Some(p) => parse_port(&p).ok_or_else(|| {
                CoreError::config(format!(
                    "PGPORT is `{p}`, not a port number between 1 and 65535; unset it or fix it"
                ))
            })?,
            None => 5432,
        },
    };

    let user = match given(&conn.user) {
        Some(u) => u,
        None => {
            let user_var = if cfg!(windows) { "USERNAME" } else { "USER" };
            from_env(cx, "user", "PGUSER", false)
                .or_else(|| from_env(cx, "user", user_var, false))
                .ok_or_else(|| {
                    CoreError::config(format!(
                        "{key}.user is not set in the app-config files and neither PGUSER nor \
                         {user_var} is set; add `user:` to {key}"
                    ))
                })?
        }
    };

    let password = match conn.password.as_ref().and_then(|g| g.value.clone()) {
        Some(p) => Some(p),
        None => from_env(cx, "password", "PGPASSWORD", true).map(Secret::new),
    };

    let tls = match &conn.ssl {
        Some(t) => t.settings.clone(),
        None => {
            let from_pgsslmode = cx.env("PGSSLMODE").and_then(|m| {
                let mode = match m.as_str() {
                    "disable" => SslMode::Disable,
                    "prefer" | "require" | "verify-ca" | "verify-full" => SslMode::VerifyFull,
                    "no-verify" => SslMode::Require,
                    _ => return None,
                };
                Some((m, mode))
            });
            match from_pgsslmode {
                Some((m, mode)) => {
                    if record {
                        cx.record(&format!("{key}.ssl"), &m, "env PGSSLMODE".to_string());
                    }
                    TlsSettings {
                        sslmode: mode,
                        ..TlsSettings::default()
                    }
                }
                None => {
                    // Decision: node-postgres uses no TLS at all here. The profile says
                    // `prefer` instead (libpq's and the inspector's default): it connects
                    // wherever Backstage does (the server accepts plaintext), and encrypts
                    // when the server offers TLS, which matters because the inspector often
                    // runs on another network than Backstage.
                    if record {
                        cx.warn(format!(
                            "{key} has no `ssl`: Backstage (node-postgres) connects without \
                             TLS; the profile uses sslmode prefer (TLS when the server offers \
                             it, without a certificate check)"
                        ));
                    }
                    TlsSettings::default()
                }
            }
        }
    };

    Ok(Resolved {
        host,
        port,
        user,
        password,
        database: given(&conn.database),
        tls,
    })
}

fn parse_port(s: &str) -> Option<u16> {
    s.trim().parse::<u16>().ok().filter(|p| *p != 0)
}

/// Schema mode without a database: node-postgres uses `PGDATABASE`, else the user name.
fn schema_default_database(res: &Resolved, key: &str, record: bool, cx: &mut Cx<'_>) -> String {
    if let Some(d) = cx.env("PGDATABASE") {
        if record {
            cx.record(&format!("{key}.database"), &d, "env PGDATABASE".to_string());
        }
        return d;
    }
    if record {
        cx.record(
            &format!("{key}.database"),
            &res.user,
            "default (node-postgres uses the user name)".to_string(),
        );
    }
    res.user.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn substitution_follows_backstage() {
        let env = env_of(&[
            ("SECRET", "my-secret"),
            ("TOKEN", " my-token \n"),
            ("EMPTY", ""),
        ]);
        assert_eq!(
            substitute("hello ${SECRET}", &env),
            Subst::Value("hello my-secret".into(), vec!["SECRET".into()])
        );
        // Names and values are trimmed; `$${` escapes.
        assert_eq!(
            substitute("${SECRET      } $${} ${TOKEN }", &env),
            Subst::Value(
                "my-secret ${} my-token".into(),
                vec!["SECRET".into(), "TOKEN".into()]
            )
        );
        assert_eq!(
            substitute("foo $${ESCAPE_ME} $$${ESCAPE_ME_TOO} $${}", &env),
            Subst::Literal("foo ${ESCAPE_ME} $${ESCAPE_ME_TOO} ${}".into())
        );
        assert_eq!(
            substitute("foo ${SECRET} $$${ESCAPE_ME}", &env),
            Subst::Value("foo my-secret $${ESCAPE_ME}".into(), vec!["SECRET".into()])
        );
        // Any missing variable makes the whole value undefined.
        assert_eq!(
            substitute("foo ${MISSING} ${SECRET}", &env),
            Subst::Missing(vec!["MISSING".into()])
        );
        assert_eq!(
            substitute("empty ${}", &env),
            Subst::Missing(vec![String::new()])
        );
        // An empty variable is set.
        assert_eq!(
            substitute("[${EMPTY}]", &env),
            Subst::Value("[]".into(), vec!["EMPTY".into()])
        );
        // Not a token: braces inside, unterminated, lone dollars.
        assert_eq!(
            substitute("a${b{c}d $ x ${open", &env),
            Subst::Literal("a${b{c}d $ x ${open".into())
        );
        assert_eq!(substitute("plain", &env), Subst::Literal("plain".into()));
    }

    fn leaf(s: &str, file: &str) -> Node {
        Node::Leaf(Leaf {
            value: Scalar::Str(s.into()),
            origin: Origin {
                file: file.into(),
                via: Via::Literal,
            },
        })
    }

    fn map(entries: Vec<(&str, Node)>) -> Node {
        Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn merge_is_deep_for_mappings_and_replaces_the_rest() {
        let a = map(vec![
            ("client", leaf("pg", "a")),
            (
                "connection",
                map(vec![("host", leaf("h1", "a")), ("port", leaf("5432", "a"))]),
            ),
            ("list", Node::Seq(vec![leaf("x", "a"), leaf("y", "a")])),
            ("scalar", leaf("s", "a")),
        ]);
        let b = map(vec![
            ("connection", map(vec![("port", leaf("6543", "b"))])),
            ("list", Node::Seq(vec![leaf("z", "b")])),
            ("scalar", map(vec![("now", leaf("a map", "b"))])),
        ]);
        let merged = merge(Some(a), b);
        let expected = map(vec![
            ("client", leaf("pg", "a")),
            (
                "connection",
                map(vec![("host", leaf("h1", "a")), ("port", leaf("6543", "b"))]),
            ),
            ("list", Node::Seq(vec![leaf("z", "b")])),
            ("scalar", map(vec![("now", leaf("a map", "b"))])),
        ]);
        assert_eq!(merged, expected);
        // A scalar over a mapping replaces it too.
        assert_eq!(merge(Some(expected), leaf("x", "c")), leaf("x", "c"));
    }

    #[test]
    fn transform_drops_undefined_values_and_checks_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw.txt"), "from-file  \n\n").unwrap();
        let path = dir.path().join("app-config.yaml");
        let env = env_of(&[("HOST", "db")]);
        let cx = FileCx {
            path: &path,
            dir: dir.path().to_path_buf(),
            env: &env,
        };
        let yaml: Value = serde_yaml::from_str(
            "host: ${HOST}\nuser: ${NOPE}\npassword: { $file: pw.txt }\nlist: [a, '${NOPE}', b]\n",
        )
        .unwrap();
        let mut warnings = Vec::new();
        let Some(Node::Map(m)) = transform(&yaml, "k", &cx, &mut warnings).unwrap() else {
            panic!("not a map");
        };
        assert!(!m.contains_key("user"));
        assert_eq!(m["host"].display(), "db");
        assert_eq!(m["host"].source(), "env HOST");
        // Backstage trims the end of `$file` contents.
        assert_eq!(m["password"].display(), "from-file");
        assert!(m["password"].source().starts_with("file "));
        assert_eq!(
            m["list"],
            Node::Seq(vec![leaf("a", ""), leaf("b", "")]).with_file(&path)
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("${NOPE}") && warnings[0].contains("k.user"));

        let adjacent: Value = serde_yaml::from_str("x: { $env: HOST, other: 1 }").unwrap();
        let e = transform(&adjacent, "k", &cx, &mut warnings)
            .unwrap_err()
            .to_string();
        assert!(e.contains("k.x") && e.contains("$env"), "{e}");
        let inc: Value = serde_yaml::from_str("x: { $include: other.yaml }").unwrap();
        let e = transform(&inc, "k", &cx, &mut warnings)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("k.x") && e.contains("$include") && e.contains("app-config.yaml"),
            "{e}"
        );
    }

    impl Node {
        fn with_file(self, file: &Path) -> Node {
            match self {
                Node::Leaf(mut l) => {
                    l.origin.file = file.to_path_buf();
                    Node::Leaf(l)
                }
                Node::Seq(items) => {
                    Node::Seq(items.into_iter().map(|n| n.with_file(file)).collect())
                }
                Node::Map(m) => {
                    Node::Map(m.into_iter().map(|(k, n)| (k, n.with_file(file))).collect())
                }
            }
        }
    }

    #[test]
    fn uri_redaction_and_scrubbing() {
        assert_eq!(
            redact_uri("u:p%40ss@h:5432/db"),
            format!("u:{MASKED}@h:5432/db")
        );
        assert_eq!(redact_uri("h/db"), "h/db");
        assert_eq!(redact_uri("u@h/db"), "u@h/db");
        // An unencoded `@` or `/` in the password stays masked.
        assert_eq!(redact_uri("u:p@s/s@h/db"), format!("u:{MASKED}@h/db"));
        let c = uri_password_candidates("u:p%40ss@h?password=x%21y");
        assert!(c.contains(&"p@ss".to_string()) && c.contains(&"x!y".to_string()));
        assert_eq!(scrub("a p@ss b", &c), format!("a {MASKED} b"));
        let c = uri_password_candidates("u:pa/ss@h/db");
        assert_eq!(
            scrub("port `pa` is not a number", &c),
            format!("port `{MASKED}` is not a number")
        );
        let c = keyvalue_password_candidates("host=h password='a b' user=u");
        assert_eq!(c.first().map(String::as_str), Some("a b"));
        let c = keyvalue_password_candidates("host=h password=a b");
        assert!(c.contains(&"a".to_string()) && c.contains(&"b".to_string()));
    }
}
