//! Connection profiles: what a server is, how its Backstage databases are laid out, TLS, pool
//! limits and write mode; the profile file; and the ways to make a profile (libpq strings,
//! `PG*` variables; `app-config.yaml` lives in [`crate::appconfig`]).
//!
//! A profile never holds a secret. Passwords go to the OS keyring ([`crate::secrets`]) under
//! the profile's name; the profile file is TOML in the OS config directory, written atomically
//! (temporary file in the same directory, fsync, rename).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::conninfo::ConnInfo;
use crate::error::{CoreError, Result};
use crate::secrets::Secret;
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
    /// Schema mode: the one database. Single mode: the database. Database mode: the database
    /// used to list the others (default `postgres`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default)]
    pub tls: TlsSettings,
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
            database: None,
            tls: TlsSettings::default(),
            pool: PoolSettings::default(),
            write_mode: false,
            plugins: BTreeMap::new(),
            source: None,
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

    /// The keyring account of a plugin override's own password.
    pub fn plugin_keyring_account(&self, plugin: &str) -> String {
        format!("{}/{}", self.name, plugin)
    }

    /// The database that holds `plugin` in database mode.
    pub fn plugin_database(&self, plugin: &str) -> String {
        self.plugins
            .get(plugin)
            .and_then(|o| o.database.clone())
            .unwrap_or_else(|| format!("{}{}", self.prefix, plugin))
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

/// The profile file: `profiles.toml` in the OS config directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ProfileFile {
    #[serde(default, rename = "profile")]
    profiles: Vec<Profile>,
}

/// Reads and writes the profile file.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    path: PathBuf,
}

impl ProfileStore {
    /// The store in the OS config directory (`$BSI_CONFIG_DIR` overrides it). Debug builds use
    /// their own folder so that development never touches a user's real profiles.
    pub fn open_default() -> Result<Self> {
        Ok(Self::at(config_dir()?.join("profiles.toml")))
    }

    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn list(&self) -> Result<Vec<Profile>> {
        Ok(self.read()?.profiles)
    }

    pub fn get(&self, name: &str) -> Result<Profile> {
        self.read()?
            .profiles
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| CoreError::NotFound {
                what: "profile",
                name: name.to_string(),
                hint: Some("`bsi profile list` shows the saved profiles".to_string()),
            })
    }

    /// Adds or replaces a profile.
    pub fn save(&self, profile: &Profile) -> Result<()> {
        profile.validate()?;
        let mut file = self.read()?;
        match file.profiles.iter_mut().find(|p| p.name == profile.name) {
            Some(existing) => *existing = profile.clone(),
            None => file.profiles.push(profile.clone()),
        }
        file.profiles.sort_by(|a, b| a.name.cmp(&b.name));
        self.write(&file)
    }

    /// Removes a profile; returns whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let mut file = self.read()?;
        let before = file.profiles.len();
        file.profiles.retain(|p| p.name != name);
        if file.profiles.len() == before {
            return Ok(false);
        }
        self.write(&file)?;
        Ok(true)
    }

    fn read(&self) -> Result<ProfileFile> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ProfileFile::default()),
            Err(e) => return Err(CoreError::io("cannot read", &self.path, e)),
        };
        toml::from_str(&text).map_err(|e| {
            CoreError::config(format!(
                "the profile file {} is not valid: {}; fix it by hand or remove the broken profile",
                self.path.display(),
                e.to_string().trim()
            ))
        })
    }

    fn write(&self, file: &ProfileFile) -> Result<()> {
        let body = toml::to_string_pretty(file)
            .map_err(|e| CoreError::Internal(format!("cannot serialise profiles: {e}")))?;
        let text = format!(
            "# Backstage Inspector connection profiles. Passwords are never stored here: they live\n\
             # in the OS keyring. Edit with care or use `bsi profile add/remove`.\n\n{body}"
        );
        write_atomic(&self.path, text.as_bytes())
    }
}

/// The config folder: `$BSI_CONFIG_DIR`, else the OS config directory.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("BSI_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let app = if cfg!(debug_assertions) {
        "backstage-inspector-dev"
    } else {
        "backstage-inspector"
    };
    directories::ProjectDirs::from("", "", app)
        .map(|d| d.config_dir().to_path_buf())
        .ok_or_else(|| {
            CoreError::config(
                "cannot find the home directory; set BSI_CONFIG_DIR to a folder for the profiles",
            )
        })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename.
/// A crash leaves either the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| CoreError::io("cannot create", dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| CoreError::io("cannot write in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| CoreError::io("cannot write", tmp.path().to_path_buf(), e))?;
    tmp.persist(path)
        .map_err(|e| CoreError::io("cannot replace", path, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_atomic_replace() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path().join("sub/profiles.toml"));
        assert!(store.list().unwrap().is_empty());
        let mut p = Profile::new("prod", "db.example.com", "backstage");
        p.plugins.insert(
            "scaffolder".into(),
            PluginOverride {
                host: Some("other".into()),
                own_password: true,
                ..Default::default()
            },
        );
        store.save(&p).unwrap();
        p.write_mode = true;
        store.save(&p).unwrap();
        let all = store.list().unwrap();
        assert_eq!(all, vec![p.clone()]);
        assert_eq!(
            store.get("prod").unwrap().plugin_database("catalog"),
            "backstage_plugin_catalog"
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1,
            "no temp file left"
        );
        assert!(store.remove("prod").unwrap());
        assert!(!store.remove("prod").unwrap());
        assert_eq!(
            store.get("prod").unwrap_err().code(),
            crate::ErrorCode::NotFound
        );
    }

    #[test]
    fn broken_file_is_a_clear_error_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.toml");
        std::fs::write(&path, "[[profile]]\nname = 3\n").unwrap();
        let store = ProfileStore::at(&path);
        let e = store.list().unwrap_err().to_string();
        assert!(
            e.contains("profiles.toml") && e.contains("not valid"),
            "{e}"
        );
        assert!(store.save(&Profile::new("x", "h", "u")).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[[profile]]\nname = 3\n"
        );
    }

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
