//! `connection` of `backend.database` or of a plugin, normalized as `normalizeConnection`
//! does: a mapping (host, port, user, password, database, ssl, type, and a `connectionString`
//! spread over them) or a connection string, each value recorded where it came from; and the
//! connection `type` (`azure` and `rds` mint their passwords, `cloudsql` needs its instance).

use std::collections::BTreeMap;

use super::connstring::connection_string;
use super::report::{Cx, MASKED};
use super::resolve::{Conn, Given, TokenCredential};
use super::ssl::tls_from_node;
use super::tree::{Leaf, Node, Scalar, file_of};
use crate::error::{CoreError, Result};
use crate::profile::{AuthMethod, CloudsqlIpType, CloudsqlRoute, ConnectionType};
use crate::secrets::Secret;

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

/// `normalizeConnection`: a mapping, or a connection string parsed the way
/// `pg-connection-string` does.
pub(super) fn normalize_connection(node: &Node, key: &str, cx: &mut Cx<'_>) -> Result<Conn> {
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
    for (k, node) in map {
        let sub = format!("{key}.{k}");
        match k.as_str() {
            "host" => conn.host = Some(given_text(node, &sub, cx)?),
            "port" => conn.port = Some(given_text(node, &sub, cx)?),
            "user" => conn.user = Some(given_text(node, &sub, cx)?),
            "database" => conn.database = Some(given_text(node, &sub, cx)?),
            "password" => conn.password = Some(given_secret(node, &sub, cx)?),
            "ssl" => {
                conn.ssl = Some(tls_from_node(node, &sub, cx)?);
                if let Node::Map(m) = node {
                    conn.ssl_map = Some(m.clone());
                }
            }
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
                // node-postgres: `Object.assign({}, config, parse(config.connectionString))`,
                // over everything else, the plugin's database included.
                if let Node::Leaf(Leaf {
                    value: Scalar::Str(s),
                    origin,
                }) = node
                {
                    conn.conn_string = Some(Box::new(connection_string(s, &sub, origin, cx)?));
                }
            }
            "region" | "ipAddressType" => {
                if let Some(v) = node.text(&sub)? {
                    cx.record(&sub, &v, node.source());
                    if k == "region" {
                        conn.region = Some(v);
                    } else {
                        conn.ip_address_type = Some(v);
                    }
                }
            }
            // Used by the `azure` connection type; the client secret is masked.
            "tokenCredential" => conn.token_credential = token_credential(node, &sub, cx)?,
            k if HARMLESS_CONNECTION_KEYS.contains(&k) => {}
            _ => cx.warn(format!(
                "{sub} is not a connection setting the inspector uses; ignored"
            )),
        }
    }
    Ok(conn)
}

/// `connection.type` of an effective connection, checked as the pg connector does when the
/// plugin starts: `default` (none), `azure` and `rds` (a token minted per connection: the
/// password given is not used), `cloudsql` (the connector needs `instance`; an IAM token is
/// the password); `rds` needs
/// host, port, user and a region.
pub(super) fn check_connection_type(
    conn: &mut Conn,
    key: &str,
    plugin: Option<&str>,
    cx: &mut Cx<'_>,
) -> Result<Option<ConnectionType>> {
    let Some((kind, file)) = conn.kind.clone() else {
        return Ok(None);
    };
    let whose = plugin
        .map(|id| format!("the plugin `{id}`"))
        .unwrap_or_else(|| "Backstage".to_string());
    let Some(parsed) = ConnectionType::parse(&kind) else {
        return Err(CoreError::config(format!(
            "{key}.type is `{kind}` in {file}, a connection type Backstage does not know \
             (Unknown connection type: it knows default, azure, cloudsql and rds); fix the \
             app-config"
        )));
    };
    match parsed {
        None => {}
        Some(ConnectionType::Cloudsql) => {
            if conn.instance.as_deref().is_none_or(str::is_empty) {
                return Err(CoreError::config(format!(
                    "{key}.type is `cloudsql` in {file} but {key}.instance is not set: Backstage \
                     needs the instance connection name (project:region:instance); add it"
                )));
            }
            if let Some(ip) = &conn.ip_address_type
                && !matches!(ip.as_str(), "PUBLIC" | "PRIVATE" | "PSC" | "SQL_DATA")
            {
                return Err(CoreError::config(format!(
                    "{key}.ipAddressType is `{ip}` in {file}; Backstage accepts PUBLIC, \
                     PRIVATE, PSC and SQL_DATA"
                )));
            }
            cx.warn(format!(
                "{key}.type is `cloudsql` in {file}: {whose} reaches the database through \
                 Google's Cloud SQL connector (instance `{}`); the profile does the same (auth \
                 method `cloudsql`, route `connector`: an ephemeral client certificate from the \
                 Cloud SQL Admin API and an IAM token, from the Application Default Credentials \
                 of the machine the inspector runs on); its host and port are not used",
                conn.instance.as_deref().unwrap_or_default()
            ));
            conn.password = None;
        }
        Some(t) => {
            if t == ConnectionType::Rds {
                let missing: Vec<&str> = [
                    ("host", conn.host.as_ref().and_then(|g| g.value.as_ref())),
                    ("port", conn.port.as_ref().and_then(|g| g.value.as_ref())),
                    ("user", conn.user.as_ref().and_then(|g| g.value.as_ref())),
                ]
                .into_iter()
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| k)
                .collect();
                if !missing.is_empty() {
                    return Err(CoreError::config(format!(
                        "{key}.type is `rds` in {file} but {key} has no {}: Backstage needs \
                         host, port and user to sign an RDS IAM token; add them",
                        missing.join(", ")
                    )));
                }
                if conn.region.is_none()
                    && cx.env("AWS_REGION").is_none()
                    && cx.env("AWS_DEFAULT_REGION").is_none()
                {
                    return Err(CoreError::config(format!(
                        "{key}.type is `rds` in {file} but no region is given: Backstage needs \
                         {key}.region or the AWS_REGION variable; add one"
                    )));
                }
            }
            let how = if t == ConnectionType::Azure {
                "a Microsoft Entra ID access token"
            } else {
                "an AWS RDS IAM authentication token"
            };
            cx.warn(format!(
                "{key}.type is `{kind}` in {file}: {whose} signs in with {how} that it obtains \
                 at run time; the profile does the same (auth method `{kind}`), with the \
                 credentials of the machine the inspector runs on"
            ));
            conn.password = None;
        }
    }
    Ok(parsed)
}

/// `tokenCredential`: `clientId`, `tenantId` and `clientSecret` (masked);
/// `tokenRenewableOffsetTime` is Backstage's (the inspector renews 5 minutes before expiry).
fn token_credential(node: &Node, key: &str, cx: &mut Cx<'_>) -> Result<Option<TokenCredential>> {
    let Node::Map(map) = node else {
        return Ok(None);
    };
    let mut tc = TokenCredential::default();
    for (k, node) in map {
        let sub = format!("{key}.{k}");
        match k.as_str() {
            "clientId" => tc.client_id = given_text(node, &sub, cx)?.value,
            "tenantId" => tc.tenant_id = given_text(node, &sub, cx)?.value,
            "clientSecret" => tc.client_secret = given_secret(node, &sub, cx)?.value,
            _ => {}
        }
    }
    Ok(Some(tc))
}

/// The auth method a connection of type `t` gives the profile, and an Entra ID client secret
/// found with it (for the keyring). RDS: the region given, else the one of the environment
/// Backstage would use.
pub(super) fn auth_method(
    conn: &Conn,
    t: Option<ConnectionType>,
    cx: &mut Cx<'_>,
) -> (AuthMethod, Option<Secret>) {
    match t {
        Some(ConnectionType::Azure) => {
            let tc = conn.token_credential.clone().unwrap_or_default();
            (
                AuthMethod::Azure {
                    client_id: tc.client_id,
                    tenant_id: tc.tenant_id,
                },
                tc.client_secret,
            )
        }
        Some(ConnectionType::Rds) => (
            AuthMethod::Rds {
                region: conn
                    .region
                    .clone()
                    .or_else(|| cx.env("AWS_REGION"))
                    .or_else(|| cx.env("AWS_DEFAULT_REGION")),
                aws_profile: None,
            },
            None,
        ),
        Some(ConnectionType::Cloudsql) => {
            let ip = conn.ip_address_type.as_deref();
            let ip_type = ip.and_then(CloudsqlIpType::parse).unwrap_or_default();
            if let Some(other) = ip.filter(|i| CloudsqlIpType::parse(i).is_none()) {
                cx.warn(format!(
                    "ipAddressType `{other}` is not one the inspector's connector dials (it \
                     knows PUBLIC, PRIVATE and PSC); the profile uses the public IP"
                ));
            }
            (
                AuthMethod::Cloudsql {
                    instance: conn.instance.clone().filter(|i| !i.is_empty()),
                    route: CloudsqlRoute::Connector,
                    ip_type,
                },
                None,
            )
        }
        None => (AuthMethod::Password, None),
    }
}
