//! A connection as node-postgres sees it: the settings given in the app-config ([`Conn`], with
//! the shallow `{...base, ...plugin}` spread of a plugin's connection over the base one), and
//! what it ends up connecting with ([`Resolved`]) once its fallbacks are applied: `PGHOST`,
//! `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGSSLMODE`, then `localhost`, 5432 and `$USER`; in schema
//! mode a missing database falls back to `PGDATABASE`, then the user name.

use super::report::{Cx, MASKED};
use crate::error::{CoreError, Result};
use crate::secrets::Secret;
use crate::tls::{SslMode, TlsSettings};

/// A connection setting that was given (`None` when the key is absent).
#[derive(Clone)]
pub(super) struct Given<T> {
    /// `None` when null or empty: falsy for node-postgres, which then falls back to `PG*`.
    pub(super) value: Option<T>,
    /// The app-config file, for messages.
    pub(super) file: String,
}

/// TLS as given by `ssl` or a connection string.
#[derive(Clone)]
pub(super) struct TlsGiven {
    pub(super) settings: TlsSettings,
}

/// A connection after `normalizeConnection`: the keys present, before node-postgres' defaults.
#[derive(Clone, Default)]
pub(super) struct Conn {
    pub(super) host: Option<Given<String>>,
    pub(super) port: Option<Given<String>>,
    pub(super) user: Option<Given<String>>,
    pub(super) password: Option<Given<Secret>>,
    pub(super) database: Option<Given<String>>,
    pub(super) ssl: Option<TlsGiven>,
    /// `ssl` as written when it is a mapping: Backstage merges a plugin's `ssl` mapping into
    /// the base one key by key (lodash `merge` in the pg connector).
    pub(super) ssl_map: Option<std::collections::BTreeMap<String, super::tree::Node>>,
    /// `type` (`default`, `azure`, `rds`, `cloudsql`) and its file.
    pub(super) kind: Option<(String, String)>,
    pub(super) instance: Option<String>,
    /// `region` (`rds`) and `ipAddressType` (`cloudsql`).
    pub(super) region: Option<String>,
    pub(super) ip_address_type: Option<String>,
    /// `tokenCredential` (`azure`): client id, tenant id, client secret.
    pub(super) token_credential: Option<TokenCredential>,
    /// `connectionString`: node-postgres applies it over all the rest, last.
    pub(super) conn_string: Option<Box<Conn>>,
}

impl Conn {
    /// `{...self, ...other}`.
    pub(super) fn overlay(&mut self, other: Conn) {
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
            self.ssl_map = other.ssl_map;
        }
        if other.kind.is_some() {
            self.kind = other.kind;
        }
        if other.instance.is_some() {
            self.instance = other.instance;
        }
        if other.region.is_some() {
            self.region = other.region;
        }
        if other.ip_address_type.is_some() {
            self.ip_address_type = other.ip_address_type;
        }
        if other.token_credential.is_some() {
            self.token_credential = other.token_credential;
        }
        if other.conn_string.is_some() {
            self.conn_string = other.conn_string;
        }
    }
}

/// `connection.tokenCredential` of the `azure` connection type.
#[derive(Debug, Clone, Default)]
pub(super) struct TokenCredential {
    pub(super) client_id: Option<String>,
    pub(super) tenant_id: Option<String>,
    pub(super) client_secret: Option<Secret>,
}

/// A connection with node-postgres' fallbacks applied.
pub(super) struct Resolved {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password: Option<Secret>,
    /// The database given in the config (not the `PGDATABASE`/user-name fallback).
    pub(super) database: Option<String>,
    pub(super) tls: TlsSettings,
}

/// node-postgres: `config[key] || process.env.PG<KEY> || defaults[key]`, and for TLS
/// `config.ssl` else `PGSSLMODE` else off. `record` notes the fallbacks in
/// [`Imported::read`](crate::appconfig::Imported::read).
pub(super) fn resolve(conn: &Conn, key: &str, record: bool, cx: &mut Cx<'_>) -> Result<Resolved> {
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
            match from_env(cx, "user", "PGUSER", false)
                .or_else(|| from_env(cx, "user", user_var, false))
            {
                Some(u) => u,
                None => {
                    // node-postgres starts the session without a user name then; the server
                    // decides (PostgreSQL itself refuses it).
                    cx.warn(format!(
                        "{key}.user is not set in the app-config files and neither PGUSER nor \
                         {user_var} is set: Backstage connects without a user name, which \
                         PostgreSQL refuses; give the user when connecting, or add `user:` to \
                         {key}"
                    ));
                    String::new()
                }
            }
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
pub(super) fn schema_default_database(
    res: &Resolved,
    key: &str,
    record: bool,
    cx: &mut Cx<'_>,
) -> String {
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
