//! The `backend.database` section as `@backstage/backend-defaults` reads it
//! (`DatabaseManager.ts`, `connectors/postgres.ts`: `computePgPluginConfig`): the `client`
//! (only `pg`), `prefix`, `pluginDivisionMode`, the flags Backstage acts on and the inspector
//! does not (`ensureExists`, `role`, `knexConfig`, ...), the base connection and, per plugin,
//! its connection spread over the base one, kept in the profile only where it differs. Unknown
//! keys and settings that make the inspector see something else than Backstage are warned about.

use std::collections::BTreeMap;

use super::connection::{auth_method, check_connection_type, normalize_connection};
use super::report::Cx;
use super::resolve::{resolve, schema_default_database};
use super::ssl::tls_from_node;
use super::tree::{Leaf, Node, Scalar, merge};
use crate::error::{CoreError, Result};
use crate::profile::{DEFAULT_PREFIX, DivisionMode, PluginOverride, Profile};
use crate::secrets::Secret;

/// Keys of `backend.database` that Backstage reads.
const DATABASE_KEYS: [&str; 12] = [
    "client",
    "keepalive",
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

/// Ids of the plugins whose schema names are checked against PostgreSQL's 63-byte limit in
/// schema mode, besides those under `plugin`: the plugins the inspector reads.
const CHECKED_PLUGINS: [&str; 7] = [
    "catalog",
    "scaffolder",
    "auth",
    "search",
    "notifications",
    "events",
    "app",
];

/// The clients Backstage's `DatabaseManager` knows besides `pg`.
const OTHER_CLIENTS: [&str; 4] = ["sqlite3", "better-sqlite3", "mysql", "mysql2"];

/// What `backend.database` says: the profile and the passwords found next to it.
pub(super) struct Interpreted {
    /// The profile; holds no secret.
    pub(super) profile: Profile,
    /// The password of the base connection.
    pub(super) password: Option<Secret>,
    /// Passwords of plugin overrides that differ from `password` (plugin id -> secret).
    pub(super) plugin_passwords: BTreeMap<String, Secret>,
    /// Plugins with a client other than `pg` (plugin id -> client).
    pub(super) other_clients: BTreeMap<String, String>,
    /// `tokenCredential.clientSecret` of an `azure` connection.
    pub(super) azure_client_secret: Option<Secret>,
}

/// A non-empty string, as `ConfigReader.getOptionalString` reads it (`None` when absent).
fn optional_string(
    map: &BTreeMap<String, Node>,
    name: &str,
    prefix: &str,
) -> Result<Option<String>> {
    let Some(node) = map.get(name) else {
        return Ok(None);
    };
    match node {
        Node::Leaf(Leaf {
            value: Scalar::Str(s),
            ..
        }) if !s.is_empty() => Ok(Some(s.clone())),
        other => Err(CoreError::config(format!(
            "{prefix}.{name}{} is {}; Backstage wants a non-empty string there and refuses to \
             start otherwise: fix it",
            other.in_file(),
            if other.kind() == "a string" {
                "an empty string"
            } else {
                other.kind()
            }
        ))),
    }
}

/// A boolean as `ConfigReader.getOptionalBoolean` reads it: `true`/`false`, or a number or
/// string among y, yes, true, 1, on / n, no, false, 0, off (any case).
fn optional_bool(map: &BTreeMap<String, Node>, name: &str, prefix: &str) -> Result<Option<bool>> {
    let Some(node) = map.get(name) else {
        return Ok(None);
    };
    let text = match node {
        Node::Leaf(Leaf {
            value: Scalar::Bool(b),
            ..
        }) => return Ok(Some(*b)),
        Node::Leaf(Leaf {
            value: Scalar::Str(s) | Scalar::Number(s),
            ..
        }) => s.trim().to_ascii_lowercase(),
        _ => String::new(),
    };
    match text.as_str() {
        "y" | "yes" | "true" | "1" | "on" => Ok(Some(true)),
        "n" | "no" | "false" | "0" | "off" => Ok(Some(false)),
        _ => Err(CoreError::config(format!(
            "{prefix}.{name}{} is `{}`, which Backstage cannot read as a boolean and refuses to \
             start with; use true or false",
            node.in_file(),
            node.display()
        ))),
    }
}

/// `schemaPrefix` as `DatabaseManager.fromConfig` checks it.
fn check_schema_prefix(p: &str, file: &str) -> Result<()> {
    let mut chars = p.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CoreError::config(format!(
            "backend.database.schemaPrefix is `{p}`{file}: Backstage refuses it (a schema prefix \
             starts with a letter or underscore and holds only letters, digits and \
             underscores); fix it"
        )))
    }
}

fn check_schema_name(schema_prefix: &str, id: &str, file: &str) -> Result<()> {
    let schema = format!("{schema_prefix}{id}");
    if schema.len() > 63 {
        return Err(CoreError::config(format!(
            "backend.database.schemaPrefix is `{schema_prefix}`{file}: the schema of the plugin \
             `{id}` would be `{schema}`, longer than PostgreSQL's 63 bytes, and Backstage \
             refuses to start that plugin; use a shorter schemaPrefix"
        )));
    }
    Ok(())
}

/// Interprets the merged `backend.database` section (`None` when no file has one) as the
/// profile `name`, the way `DatabaseManager` and the pg connector do. `files_label` names the
/// files read, for messages and the profile's source.
pub(super) fn interpret(
    name: &str,
    merged: Option<Node>,
    files_label: &str,
    cx: &mut Cx<'_>,
) -> Result<Interpreted> {
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
    let base_key = "backend.database";

    // `DatabaseManager.fromConfig`: prefix and schemaPrefix.
    let mut prefix = DEFAULT_PREFIX.to_string();
    if let Some(p) = optional_string(&db, "prefix", base_key)? {
        cx.record("backend.database.prefix", &p, db["prefix"].source());
        prefix = p;
    }
    let mut schema_prefix = String::new();
    if let Some(p) = optional_string(&db, "schemaPrefix", base_key)? {
        let node = &db["schemaPrefix"];
        check_schema_prefix(&p, &node.in_file())?;
        cx.record("backend.database.schemaPrefix", &p, node.source());
        schema_prefix = p;
    }

    // client
    check_client(
        db.get("client"),
        "backend.database.client",
        None,
        files_label,
        cx,
    )?;

    for key in db.keys() {
        if !DATABASE_KEYS.contains(&key.as_str()) {
            cx.warn(format!(
                "backend.database.{key} is not a database setting Backstage reads; ignored"
            ));
        }
    }

    // pluginDivisionMode: anything but `schema` behaves as `database` in the pg connector.
    let mut mode = DivisionMode::Database;
    if let Some(value) = optional_string(&db, "pluginDivisionMode", base_key)? {
        let key = "backend.database.pluginDivisionMode";
        let node = &db["pluginDivisionMode"];
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
    if !schema_prefix.is_empty() && mode != DivisionMode::Schema {
        cx.warn(format!(
            "backend.database.schemaPrefix is `{schema_prefix}`, but Backstage uses it only \
             with `pluginDivisionMode: schema`; ignored"
        ));
    }

    record_database_flags(&db, base_key, true, cx)?;

    // The base connection.
    let conn_key = "backend.database.connection";
    let Some(conn_node) = db.get("connection") else {
        return Err(CoreError::config(format!(
            "{conn_key} is not set in {files_label}; Backstage needs it to connect: add host, \
             port, user and password (or a postgresql:// connection string) there"
        )));
    };
    let mut base = normalize_connection(conn_node, conn_key, cx)?;
    let base_type = check_connection_type(&mut base, conn_key, None, cx)?;
    let mut base_final = base.clone();
    if let Some(s) = base.conn_string.clone() {
        base_final.overlay(*s);
    }
    let base_res = resolve(&base_final, conn_key, true, cx)?;

    let mut profile = Profile::new(name, base_res.host.clone(), base_res.user.clone());
    profile.port = base_res.port;
    profile.mode = mode;
    profile.prefix = prefix.clone();
    profile.tls = base_res.tls.clone();
    profile.connection_type = base_type;
    let (auth, azure_client_secret) = auth_method(&base, base_type, cx);
    profile.auth = auth;

    match mode {
        DivisionMode::Schema => {
            profile.schema_prefix = schema_prefix.clone();
            let database = match &base_res.database {
                Some(d) => d.clone(),
                None => schema_default_database(&base_res, conn_key, true, cx),
            };
            profile.database = Some(database);
            let file = db["connection"].in_file();
            for id in CHECKED_PLUGINS {
                check_schema_name(&schema_prefix, id, &file)?;
            }
        }
        _ => {
            if let Some(s) = &base.conn_string {
                // node-postgres applies `connectionString` after the plugin's database: every
                // plugin ends up in the database it names (else PGDATABASE or the user's).
                let d = match s.database.as_ref().and_then(|g| g.value.clone()) {
                    Some(d) => d,
                    None => schema_default_database(&base_res, conn_key, true, cx),
                };
                cx.warn(format!(
                    "{conn_key}.connectionString overrides the plugins' databases: Backstage \
                     keeps every plugin in `{d}`; imported as that one database"
                ));
                profile.mode = DivisionMode::Single;
                profile.database = Some(d);
            } else if let Some(given) = &base.database
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
    let mut other_clients = BTreeMap::new();
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
            if let Some(client) = check_client(
                settings.get("client"),
                &format!("{key}.client"),
                Some(id),
                files_label,
                cx,
            )? {
                other_clients.insert(id.clone(), client);
                continue;
            }
            for k in settings.keys() {
                if !PLUGIN_KEYS.contains(&k.as_str()) {
                    cx.warn(format!(
                        "{key}.{k} is not a plugin database setting Backstage reads; ignored"
                    ));
                }
            }
            record_database_flags(settings, &key, false, cx)?;
            if mode == DivisionMode::Schema {
                check_schema_name(&schema_prefix, id, &db["connection"].in_file())?;
            }
            let Some(conn_node) = settings.get("connection") else {
                continue;
            };
            let pkey = format!("{key}.connection");
            let own = normalize_connection(conn_node, &pkey, cx)?;
            // `{...base, ...plugin}` (without the base database in database mode), then the
            // base merged under it key by key: an `ssl` mapping merges with the base one.
            let mut effective = base.clone();
            if mode != DivisionMode::Schema {
                effective.database = None;
            }
            let merged_ssl = match (&base.ssl_map, &own.ssl_map) {
                (Some(b), Some(o)) => Some(merge(Some(Node::Map(b.clone())), Node::Map(o.clone()))),
                _ => None,
            };
            effective.overlay(own);
            if let Some(ssl) = merged_ssl {
                effective.ssl = Some(tls_from_node(&ssl, &format!("{pkey}.ssl"), cx)?);
            }
            let own_type = check_connection_type(&mut effective, &pkey, Some(id), cx)?;
            let by_name = match (
                mode,
                effective.database.as_ref().and_then(|g| g.value.clone()),
            ) {
                (DivisionMode::Schema, d) => d,
                (_, Some(d)) => Some(d),
                (_, None) => Some(format!("{prefix}{id}")),
            };
            let conn_string = effective.conn_string.take();
            let string_database = conn_string
                .as_ref()
                .map(|s| s.database.as_ref().and_then(|g| g.value.clone()));
            if let Some(s) = conn_string {
                effective.overlay(*s);
            }
            let res = resolve(&effective, &pkey, false, cx)?;
            let database = match string_database {
                Some(Some(d)) => Some(d),
                Some(None) => Some(schema_default_database(&res, &pkey, false, cx)),
                None => by_name,
            };

            let database = match profile.mode {
                DivisionMode::Schema => {
                    let d =
                        database.unwrap_or_else(|| schema_default_database(&res, &pkey, false, cx));
                    (profile.database.as_deref() != Some(d.as_str())).then_some(d)
                }
                DivisionMode::Single => {
                    database.filter(|d| profile.database.as_deref() != Some(d.as_str()))
                }
                _ => database.filter(|d| *d != format!("{prefix}{id}")),
            };
            let mut over = PluginOverride {
                host: (res.host != profile.host).then(|| res.host.clone()),
                port: (res.port != profile.port).then_some(res.port),
                user: (res.user != profile.user).then(|| res.user.clone()),
                database,
                tls: (res.tls != profile.tls).then(|| res.tls.clone()),
                connection_type: (own_type != profile.connection_type)
                    .then_some(own_type)
                    .flatten(),
                own_password: false,
            };
            match res.password {
                Some(pw) => {
                    let same = base_res
                        .password
                        .as_ref()
                        .is_some_and(|b| b.expose() == pw.expose());
                    if !same {
                        over.own_password = true;
                        plugin_passwords.insert(id.clone(), pw);
                    }
                }
                // Backstage connects without the base password here: the plugin has a
                // password of its own, not known yet.
                None => over.own_password = base_res.password.is_some(),
            }
            if over != PluginOverride::default() {
                profile.plugins.insert(id.clone(), over);
            }
        }
    }

    profile.source = Some(format!("app-config: {files_label}"));
    Ok(Interpreted {
        profile,
        password: base_res.password,
        plugin_passwords,
        other_clients,
        azure_client_secret,
    })
}

/// Checks a `client`; `Some(client)` for a plugin whose client is another one Backstage knows
/// (its data is not in PostgreSQL: the plugin is skipped, with a warning).
fn check_client(
    node: Option<&Node>,
    key: &str,
    plugin: Option<&str>,
    files_label: &str,
    cx: &mut Cx<'_>,
) -> Result<Option<String>> {
    let Some(node) = node else {
        return match plugin {
            Some(_) => Ok(None),
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
        }) if !s.is_empty() => s.clone(),
        other => {
            return Err(CoreError::config(format!(
                "{key} in {file} is {}; it should be `pg`",
                other.kind()
            )));
        }
    };
    cx.record(key, &client, node.source());
    match (client.as_str(), plugin) {
        ("pg", _) => Ok(None),
        (c, Some(id)) if OTHER_CLIENTS.contains(&c) => {
            cx.warn(format!(
                "{key} is `{client}` in {file}: Backstage keeps the data of the plugin `{id}` \
                 outside PostgreSQL, so the profile does not cover it; the other plugins are \
                 imported"
            ));
            Ok(Some(client))
        }
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
            "{key} is `{client}` in {file}: Backstage does not know this client (Unsupported \
             database client type), so the plugin `{id}` cannot start; use `pg`"
        ))),
    }
}

/// The flags Backstage reads at `prefix` (the base section when `base`, else a plugin's),
/// type-checked as `ConfigReader` does: `ensureExists`, `ensureSchemaExists` (a plugin's is
/// read as `getEnsureSchemaExistsConfig`), `skipMigrations`, `keepalive`, `role`, `knexConfig`.
fn record_database_flags(
    map: &BTreeMap<String, Node>,
    prefix: &str,
    base: bool,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let flags: &[&str] = if base {
        &[
            "ensureExists",
            "ensureSchemaExists",
            "skipMigrations",
            "keepalive",
        ]
    } else {
        &[
            "ensureExists",
            "getEnsureSchemaExistsConfig",
            "skipMigrations",
        ]
    };
    for flag in flags {
        if let Some(value) = optional_bool(map, flag, prefix)? {
            let key = format!("{prefix}.{flag}");
            cx.record(&key, &value.to_string(), map[*flag].source());
            if value && (flag.starts_with("ensure") || flag.starts_with("getEnsure")) {
                cx.warn(format!(
                    "{key} is true: Backstage creates missing databases or schemas when it \
                     starts; the inspector never creates them unless asked, so those Backstage \
                     has not created yet show as missing"
                ));
            }
        }
    }
    if let Some(role) = optional_string(map, "role", prefix)? {
        let key = format!("{prefix}.role");
        cx.record(&key, &role, map["role"].source());
        cx.warn(format!(
            "{key} is `{role}`: Backstage runs `SET ROLE {role}` on its connections; the \
             inspector connects as the user itself, so what it may read can differ"
        ));
    }
    if let Some(node) = map.get("knexConfig") {
        let key = format!("{prefix}.knexConfig");
        if !matches!(node, Node::Map(_)) {
            return Err(CoreError::config(format!(
                "{key}{} is {}, not a mapping; Backstage refuses to start with it: fix it",
                node.in_file(),
                node.kind()
            )));
        }
        cx.record(&key, &node.display(), node.source());
        cx.warn(format!(
            "{key} is set{}: it tunes Backstage's Knex client and is ignored by the inspector",
            node.in_file()
        ));
    }
    Ok(())
}
