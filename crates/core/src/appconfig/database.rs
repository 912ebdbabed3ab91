//! The `backend.database` section as `@backstage/backend-defaults` reads it
//! (`DatabaseManager.ts`, `connectors/postgres.ts`: `computePgPluginConfig`): the `client`
//! (only `pg`), `prefix`, `pluginDivisionMode`, the flags Backstage acts on and the inspector
//! does not (`ensureExists`, `role`, `knexConfig`, ...), the base connection and, per plugin,
//! its connection spread over the base one, kept in the profile only where it differs. Unknown
//! keys and settings that make the inspector see something else than Backstage are warned about.

use std::collections::BTreeMap;

use super::connection::{check_connection_type, normalize_connection};
use super::report::Cx;
use super::resolve::{resolve, schema_default_database};
use super::tree::{Leaf, Node, Scalar};
use crate::error::{CoreError, Result};
use crate::profile::{DEFAULT_PREFIX, DivisionMode, PluginOverride, Profile};
use crate::secrets::Secret;

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

/// What `backend.database` says: the profile and the passwords found next to it.
pub(super) struct Interpreted {
    /// The profile; holds no secret.
    pub(super) profile: Profile,
    /// The password of the base connection.
    pub(super) password: Option<Secret>,
    /// Passwords of plugin overrides that differ from `password` (plugin id -> secret).
    pub(super) plugin_passwords: BTreeMap<String, Secret>,
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

    record_database_flags(&db, "backend.database", cx)?;
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
    let mut base = normalize_connection(conn_node, conn_key, cx)?;
    check_connection_type(&mut base, conn_key, None, cx)?;
    let base_res = resolve(&base, conn_key, true, cx)?;

    let mut profile = Profile::new(name, base_res.host.clone(), base_res.user.clone());
    profile.port = base_res.port;
    profile.mode = mode;
    profile.prefix = prefix.clone();
    profile.tls = base_res.tls.clone();

    match mode {
        DivisionMode::Schema => {
            let database = match &base_res.database {
                Some(d) => d.clone(),
                None => schema_default_database(&base_res, conn_key, true, cx),
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
                files_label,
                cx,
            )?;
            for k in settings.keys() {
                if !PLUGIN_KEYS.contains(&k.as_str()) {
                    cx.warn(format!(
                        "{key}.{k} is not a plugin database setting Backstage reads; ignored"
                    ));
                }
            }
            record_database_flags(settings, &key, cx)?;
            let Some(conn_node) = settings.get("connection") else {
                continue;
            };
            let pkey = format!("{key}.connection");
            let mut own = normalize_connection(conn_node, &pkey, cx)?;
            check_connection_type(&mut own, &pkey, Some(id), cx)?;
            let mut effective = base.clone();
            if mode != DivisionMode::Schema {
                effective.database = None;
            }
            effective.overlay(own);
            let res = resolve(&effective, &pkey, false, cx)?;

            let database = match mode {
                DivisionMode::Schema => {
                    let d = match &res.database {
                        Some(d) => d.clone(),
                        None => schema_default_database(&res, &pkey, false, cx),
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
    Ok(Interpreted {
        profile,
        password: base_res.password,
        plugin_passwords,
    })
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
