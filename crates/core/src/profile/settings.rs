//! What a profile is: a server, how its Backstage databases are laid out (division mode,
//! prefix, database), TLS, pool limits and timeouts, write mode and per-plugin overrides; and
//! a profile from a parsed connection string. A profile never holds a secret.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::conninfo::ConnInfo;
use crate::error::{CoreError, Result};
use crate::secrets::{KeyringAccounts, Secret};
use crate::tls::TlsSettings;

/// Backstage's default database prefix.
pub const DEFAULT_PREFIX: &str = "backstage_plugin_";
/// The database used to list the others in database mode.
pub const DEFAULT_MAINTENANCE_DB: &str = "postgres";

/// How a server holds its Backstage plugins (Backstage's `pluginDivisionMode`, plus one
/// explicit database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum DivisionMode {
    /// One database per plugin, named `<prefix><pluginId>` (Backstage's default).
    #[default]
    Database,
    /// One database, one schema per plugin.
    Schema,
    /// Exactly one database, given by `database`.
    Single,
}

impl DivisionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DivisionMode::Database => "database",
            DivisionMode::Schema => "schema",
            DivisionMode::Single => "single",
        }
    }
}

/// How Backstage signs in to a database besides a password (`connection.type` of its
/// app-config); the inspector records it and does not fetch tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionType {
    /// Microsoft Entra ID access tokens (Azure Database for PostgreSQL).
    Azure,
    /// AWS RDS IAM authentication tokens.
    Rds,
    /// Google's Cloud SQL connector (IAM sign-in through the connector's own tunnel).
    Cloudsql,
}

impl ConnectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Azure => "azure",
            ConnectionType::Rds => "rds",
            ConnectionType::Cloudsql => "cloudsql",
        }
    }

    /// `connection.type` as Backstage names it; `default` is none.
    pub fn parse(s: &str) -> Option<Option<ConnectionType>> {
        Some(match s {
            "default" => None,
            "azure" => Some(ConnectionType::Azure),
            "rds" => Some(ConnectionType::Rds),
            "cloudsql" => Some(ConnectionType::Cloudsql),
            _ => return None,
        })
    }
}

/// How the inspector signs in: a password (the default), or a token it obtains itself before
/// each new connection, as Backstage's `connection.type` `azure`, `rds` and `cloudsql` do. A
/// profile holds no secret: an Entra ID client secret lives in the keyring (account
/// `<profile>/azure`) or `AZURE_CLIENT_SECRET`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum AuthMethod {
    /// A password (keyring, prompt, password command...).
    #[default]
    Password,
    /// Microsoft Entra ID access tokens for Azure Database for PostgreSQL: a client secret
    /// when `client_id`, `tenant_id` and a secret are known, a user-assigned managed identity
    /// when only `client_id` is, else the default chain (environment, workload identity,
    /// managed identity, Azure CLI).
    Azure {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        client_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        tenant_id: Option<String>,
    },
    /// AWS RDS IAM authentication tokens, signed with the standard AWS credential chain.
    Rds {
        /// The region (else `AWS_REGION`, `AWS_DEFAULT_REGION`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        region: Option<String>,
        /// A profile of the AWS shared files (else `AWS_PROFILE`, `default`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        aws_profile: Option<String>,
    },
    /// Google Cloud SQL IAM database authentication: OAuth2 access tokens from Application
    /// Default Credentials (credentials file, gcloud's file, metadata server). With the
    /// `proxy` route the profile's host and port are those of a Cloud SQL Auth Proxy or of the
    /// instance itself; with the `connector` route the inspector connects as Google's
    /// connectors do (instance metadata and an ephemeral client certificate from the Cloud SQL
    /// Admin API, then TLS to the instance's port 3307).
    Cloudsql {
        /// The instance connection name (`project:region:instance`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        instance: Option<String>,
        /// How the instance is reached (`proxy` when not set: profiles saved before the
        /// connector existed keep their meaning).
        #[serde(default, skip_serializing_if = "CloudsqlRoute::is_proxy")]
        #[cfg_attr(feature = "ts", ts(as = "Option<CloudsqlRoute>", optional))]
        route: CloudsqlRoute,
        /// Which address of the instance the connector uses (`public` when not set).
        #[serde(default, skip_serializing_if = "CloudsqlIpType::is_public")]
        #[cfg_attr(feature = "ts", ts(as = "Option<CloudsqlIpType>", optional))]
        ip_type: CloudsqlIpType,
    },
}

/// How a Cloud SQL profile reaches its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum CloudsqlRoute {
    /// The profile's host and port: a Cloud SQL Auth Proxy, or the instance's IP with TLS.
    #[default]
    Proxy,
    /// Google's connector protocol, run by the inspector: a loopback port forwarded over TLS
    /// (an ephemeral client certificate) to the instance's server-side proxy.
    Connector,
}

impl CloudsqlRoute {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudsqlRoute::Proxy => "proxy",
            CloudsqlRoute::Connector => "connector",
        }
    }

    pub fn is_proxy(&self) -> bool {
        *self == CloudsqlRoute::Proxy
    }

    pub fn parse(s: &str) -> Option<CloudsqlRoute> {
        match s.to_ascii_lowercase().as_str() {
            "proxy" => Some(CloudsqlRoute::Proxy),
            "connector" => Some(CloudsqlRoute::Connector),
            _ => None,
        }
    }
}

/// Which address of a Cloud SQL instance the connector dials (Backstage's `ipAddressType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum CloudsqlIpType {
    /// The public IP (`PRIMARY` in the instance's metadata).
    #[default]
    Public,
    /// The private IP (VPC).
    Private,
    /// Private Service Connect: the instance's DNS name.
    Psc,
}

impl CloudsqlIpType {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudsqlIpType::Public => "public",
            CloudsqlIpType::Private => "private",
            CloudsqlIpType::Psc => "psc",
        }
    }

    pub fn is_public(&self) -> bool {
        *self == CloudsqlIpType::Public
    }

    /// `public`, `private` or `psc`, in any case (Backstage writes `PUBLIC`, `PRIVATE`, `PSC`).
    pub fn parse(s: &str) -> Option<CloudsqlIpType> {
        match s.to_ascii_lowercase().as_str() {
            "public" => Some(CloudsqlIpType::Public),
            "private" => Some(CloudsqlIpType::Private),
            "psc" => Some(CloudsqlIpType::Psc),
            _ => None,
        }
    }
}

impl AuthMethod {
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Azure { .. } => "azure",
            AuthMethod::Rds { .. } => "rds",
            AuthMethod::Cloudsql { .. } => "cloudsql",
        }
    }

    pub fn is_password(&self) -> bool {
        *self == AuthMethod::Password
    }
}

/// Pool limits and timeouts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct PoolSettings {
    /// Connections per database (default 4).
    pub max_connections: u32,
    /// Seconds to establish a connection, TLS included.
    pub connect_timeout_secs: u64,
    /// Seconds to wait for a free pooled connection.
    pub acquire_timeout_secs: u64,
    /// Seconds a statement may run before the server cancels it.
    pub statement_timeout_secs: u64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 4,
            connect_timeout_secs: 10,
            acquire_timeout_secs: 10,
            statement_timeout_secs: 30,
        }
    }
}

/// A plugin whose database lives elsewhere (Backstage's `backend.database.plugin.<id>`).
/// Unset fields fall back to the profile's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct PluginOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub user: Option<String>,
    /// The database of this plugin (else `<prefix><pluginId>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub tls: Option<TlsSettings>,
    /// This plugin's own `connection.type`, where it differs from the profile's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub connection_type: Option<ConnectionType>,
    /// Whether this plugin has a password of its own in the keyring (account
    /// `<profile>/<pluginId>`); else the profile's password is used.
    pub own_password: bool,
}

/// A saved way to reach one Backstage installation's databases. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Profile {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    #[serde(default)]
    pub mode: DivisionMode,
    /// Database name prefix in database mode.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Schema name prefix in schema mode (Backstage's `schemaPrefix`): plugin `catalog` lives in
    /// the schema `<schema_prefix>catalog`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub schema_prefix: String,
    /// Schema mode: the one database. Single mode: the database. Database mode: the database
    /// used to list the others (default `postgres`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default)]
    pub tls: TlsSettings,
    /// How Backstage signs in besides a password (`connection.type`); none for passwords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<ConnectionType>,
    /// How the inspector signs in (a password unless a token method is set).
    #[serde(default, skip_serializing_if = "AuthMethod::is_password")]
    #[cfg_attr(feature = "ts", ts(as = "Option<AuthMethod>", optional))]
    pub auth: AuthMethod,
    #[serde(default)]
    pub pool: PoolSettings,
    /// Off by default: every session is read-only unless this is on.
    #[serde(default)]
    pub write_mode: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plugins: BTreeMap<String, PluginOverride>,
    /// Where this profile came from (a URI, the environment, app-config files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A shell command whose first line of output is the password (Vault, 1Password,
    /// `aws rds generate-db-auth-token`, `az account get-access-token`...): run when the
    /// profile's connections are opened and again after an authentication failure. The command
    /// is configuration, not a secret; its output is never stored or logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub password_command: Option<String>,
    /// Reach the server through an SSH tunnel (the system's `ssh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub ssh: Option<SshSettings>,
}

/// An SSH tunnel to the server, opened with the system's OpenSSH client: the user's
/// `~/.ssh/config`, agent, keys and `known_hosts` apply as they do for `ssh` itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct SshSettings {
    /// `user@host[:port]`, or a host alias of the ssh config.
    pub destination: String,
    /// A private key to use (`ssh -i`); else the agent and the ssh config decide.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub identity_file: Option<std::path::PathBuf>,
    /// Jump hosts, in order (`ssh -J`), each `user@host[:port]` or an alias.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jump: Vec<String>,
    /// An ssh config file read instead of `~/.ssh/config` (`ssh -F`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub config_file: Option<std::path::PathBuf>,
}

fn default_prefix() -> String {
    DEFAULT_PREFIX.to_string()
}

impl Profile {
    /// A profile for `host` with Backstage's defaults.
    pub fn new(name: impl Into<String>, host: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            port: 5432,
            user: user.into(),
            mode: DivisionMode::Database,
            prefix: DEFAULT_PREFIX.to_string(),
            schema_prefix: String::new(),
            database: None,
            tls: TlsSettings::default(),
            connection_type: None,
            auth: AuthMethod::Password,
            pool: PoolSettings::default(),
            write_mode: false,
            plugins: BTreeMap::new(),
            source: None,
            password_command: None,
            ssh: None,
        }
    }

    /// Builds a profile from a parsed connection string; returns the password separately.
    ///
    /// A database name in the string selects single-database mode unless it is the maintenance
    /// database (`postgres`), which means "list the plugin databases from here".
    pub fn from_conninfo(name: &str, ci: ConnInfo) -> Result<(Profile, Option<Secret>)> {
        validate_name(name)?;
        let user = ci
            .user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .ok_or_else(|| CoreError::config("no user name given: add user=... or PGUSER"))?;
        let mut p = Profile::new(
            name,
            ci.host.clone().unwrap_or_else(|| "localhost".into()),
            user,
        );
        if let Some(port) = ci.port {
            p.port = port;
        }
        match ci.dbname.as_deref() {
            None => {}
            Some(db) if db == DEFAULT_MAINTENANCE_DB => p.database = Some(db.to_string()),
            Some(db) => {
                p.mode = DivisionMode::Single;
                p.database = Some(db.to_string());
            }
        }
        if let Some(mode) = ci.sslmode {
            p.tls.sslmode = mode;
        }
        p.tls.root_cert = ci.sslrootcert.clone();
        if let Some(t) = ci.connect_timeout {
            p.pool.connect_timeout_secs = t.max(1);
        }
        Ok((p, ci.password))
    }

    /// `host:port`, for messages.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The keyring account of this profile's password.
    pub fn keyring_account(&self) -> String {
        self.name.clone()
    }

    /// The keyring account of an Entra ID client secret.
    pub fn azure_secret_account(&self) -> String {
        format!("{}/azure", self.name)
    }

    /// The keyring account of a plugin override's own password.
    pub fn plugin_keyring_account(&self, plugin: &str) -> String {
        format!("{}/{}", self.name, plugin)
    }

    /// The keyring entries of this profile: its password's, and those of the plugin overrides
    /// with a password of their own.
    pub fn keyring_accounts(&self) -> KeyringAccounts {
        KeyringAccounts {
            account: self.keyring_account(),
            plugins: self
                .plugins
                .iter()
                .filter(|(_, o)| o.own_password)
                .map(|(plugin, _)| (plugin.clone(), self.plugin_keyring_account(plugin)))
                .collect(),
        }
    }

    /// The database that holds `plugin` in database mode.
    pub fn plugin_database(&self, plugin: &str) -> String {
        self.plugins
            .get(plugin)
            .and_then(|o| o.database.clone())
            .unwrap_or_else(|| format!("{}{}", self.prefix, plugin))
    }

    /// The schema that holds `plugin` in schema mode.
    pub fn plugin_schema(&self, plugin: &str) -> String {
        format!("{}{plugin}", self.schema_prefix)
    }

    /// The database to connect to for server-wide questions (listing databases, version).
    pub fn maintenance_database(&self) -> &str {
        self.database.as_deref().unwrap_or(DEFAULT_MAINTENANCE_DB)
    }

    /// Checks the profile for contradictions.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        if self.host.trim().is_empty() {
            return Err(CoreError::config(format!(
                "profile `{}` has no host",
                self.name
            )));
        }
        if self.user.trim().is_empty() {
            return Err(CoreError::config(format!(
                "profile `{}` has no user",
                self.name
            )));
        }
        if matches!(self.mode, DivisionMode::Single | DivisionMode::Schema)
            && self.database.is_none()
        {
            return Err(CoreError::config(format!(
                "profile `{}` is in {} mode but names no database; set `database`",
                self.name,
                self.mode.as_str()
            )));
        }
        if self.pool.max_connections == 0 {
            return Err(CoreError::config("pool.max_connections must be at least 1"));
        }
        if let Some(path) = self.tls.root_cert.as_ref().filter(|p| !p.is_file()) {
            return Err(CoreError::config(format!(
                "the CA file {} does not exist; give the path of a PEM file with the server's CA (sslrootcert)",
                path.display()
            )));
        }
        Ok(())
    }
}

/// Profile names become keyring accounts and file keys: keep them simple.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::config(format!(
            "invalid profile name `{name}`: use 1 to 64 letters, digits, `-`, `_` or `.`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_conninfo_takes_the_password_out() {
        let ci =
            ConnInfo::parse("postgresql://bs:pw@h:5433/backstage_plugin_catalog?sslmode=require")
                .unwrap();
        let (p, pw) = Profile::from_conninfo("x", ci).unwrap();
        assert_eq!(pw.unwrap().expose(), "pw");
        assert_eq!(p.mode, DivisionMode::Single);
        assert_eq!(p.database.as_deref(), Some("backstage_plugin_catalog"));
        let text = toml::to_string(&p).unwrap();
        assert!(!text.contains("pw"), "{text}");
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("prod-eu_1.a").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("a/b").is_err());
    }
}
