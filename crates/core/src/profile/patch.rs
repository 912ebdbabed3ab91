//! Making or changing a profile from what a user gives: a URI (or the `PG*` variables) and/or
//! fields. [`ProfilePatch`] is the one way both shells do it (`bsi profile add` maps its flags
//! to it, the app's form sends a [`ProfileInput`]); the password given with it is returned
//! apart, never put in the profile.

use std::path::PathBuf;

use serde::Deserialize;

use super::settings::{AuthMethod, DEFAULT_MAINTENANCE_DB, DivisionMode, Profile, SshSettings};
use crate::conninfo::ConnInfo;
use crate::error::{CoreError, Result};
use crate::secrets::Secret;
use crate::tls::SslMode;

/// A new profile, or the changes to a saved one. Unset fields keep the saved value (or, for a
/// new profile, Backstage's default).
#[derive(Clone, Default)]
pub struct ProfilePatch {
    pub name: String,
    /// A libpq URI or key=value string; the fields below override what it says.
    pub url: Option<String>,
    /// Take the connection from the `PG*` environment variables (when there is no `url`).
    pub from_env: bool,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Else the URI's; for a new profile made from fields, the login name (`USER`), as libpq.
    pub user: Option<String>,
    /// A database other than `postgres` makes a database-mode profile single-database.
    pub database: Option<String>,
    /// Applied after `database`.
    pub mode: Option<DivisionMode>,
    pub prefix: Option<String>,
    pub sslmode: Option<SslMode>,
    /// A PEM file of CA certificates to trust; kept as an absolute path.
    pub ca_file: Option<PathBuf>,
    pub pool_size: Option<u32>,
    pub connect_timeout_secs: Option<u64>,
    pub statement_timeout_secs: Option<u64>,
    pub write_mode: Option<bool>,
    /// Wins over a password inside the URI.
    pub password: Option<Secret>,
    /// The password command ([`Profile::password_command`]); empty removes it.
    pub password_command: Option<String>,
    /// The SSH tunnel ([`Profile::ssh`]); an empty destination removes it.
    pub ssh: Option<SshSettings>,
    /// How the profile signs in (a password, or a token method).
    pub auth: Option<AuthMethod>,
    /// What made the profile, for [`Profile::source`] when nothing else says (a URI does not).
    pub made_by: String,
}

impl std::fmt::Debug for ProfilePatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfilePatch")
            .field("name", &self.name)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("from_env", &self.from_env)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

impl ProfilePatch {
    /// The profile this patch makes from `existing` (a saved profile being changed) or, without
    /// one, from its URI, the `PG*` variables (read through `env`) or its fields; checked with
    /// [`Profile::validate`]. Also returns the password given: the patch's, else the one inside
    /// the URI or the variables.
    ///
    /// A URI replaces what it can say of a saved profile and keeps the rest (pool settings,
    /// plugin overrides, write mode).
    pub fn apply(
        &self,
        existing: Option<Profile>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Profile, Option<Secret>)> {
        let conninfo = match (&self.url, self.from_env) {
            (Some(url), _) => Some((ConnInfo::parse(url)?, None)),
            (None, true) => Some((ConnInfo::from_env(env)?, Some("PG* environment variables"))),
            (None, false) => None,
        };
        let (mut profile, password) = match (conninfo, existing) {
            (Some((ci, source)), existing) => {
                let (mut p, pw) = Profile::from_conninfo(&self.name, ci)?;
                p.source = source.map(str::to_string);
                if let Some(prev) = existing {
                    // Keep what a URI cannot say.
                    p.pool = prev.pool;
                    p.plugins = prev.plugins;
                    p.write_mode = prev.write_mode;
                }
                (p, pw)
            }
            (None, Some(p)) => (p, None),
            (None, None) => {
                let host = self.host.clone().ok_or_else(|| {
                    CoreError::config(
                        "give a URI or at least a host (bsi: --from-url URL, --from-env, or --host)",
                    )
                })?;
                let user = self
                    .user
                    .clone()
                    .or_else(|| env("USER"))
                    .ok_or_else(|| CoreError::config("give a user name"))?;
                (Profile::new(&self.name, host, user), None)
            }
        };
        self.apply_fields(&mut profile)?;
        if profile.source.is_none() {
            profile.source = Some(self.made_by.clone());
        }
        profile.validate()?;
        let password = self.password.clone().or(password).filter(|p| !p.is_empty());
        Ok((profile, password))
    }

    fn apply_fields(&self, profile: &mut Profile) -> Result<()> {
        if let Some(h) = &self.host {
            profile.host = h.clone();
        }
        if let Some(p) = self.port {
            profile.port = p;
        }
        if let Some(u) = &self.user {
            profile.user = u.clone();
        }
        if let Some(db) = &self.database {
            profile.database = Some(db.clone());
            if profile.mode == DivisionMode::Database && db != DEFAULT_MAINTENANCE_DB {
                profile.mode = DivisionMode::Single;
            }
        }
        if let Some(m) = self.mode {
            profile.mode = m;
        }
        if let Some(prefix) = &self.prefix {
            profile.prefix = prefix.clone();
        }
        if let Some(m) = self.sslmode {
            profile.tls.sslmode = m;
        }
        if let Some(ca) = &self.ca_file {
            let abs = std::fs::canonicalize(ca).map_err(|e| {
                CoreError::config(format!("the CA file {} cannot be read: {e}", ca.display()))
            })?;
            profile.tls.root_cert = Some(abs);
            profile.tls.root_cert_pem = None;
        }
        if let Some(n) = self.pool_size {
            profile.pool.max_connections = n;
        }
        if let Some(t) = self.connect_timeout_secs {
            profile.pool.connect_timeout_secs = t;
        }
        if let Some(t) = self.statement_timeout_secs {
            profile.pool.statement_timeout_secs = t;
        }
        if let Some(w) = self.write_mode {
            profile.write_mode = w;
        }
        if let Some(c) = &self.password_command {
            profile.password_command = Some(c.trim().to_string()).filter(|c| !c.is_empty());
        }
        if let Some(ssh) = &self.ssh {
            profile.ssh = Some(ssh.clone()).filter(|s| !s.destination.trim().is_empty());
        }
        if let Some(a) = &self.auth {
            profile.auth = a.clone();
        }
        Ok(())
    }
}

/// A new or changed profile, from a URI (`postgresql://...` or `key=value`) and/or fields.
// Its `Debug` (below) never shows the password, nor the URI, which may hold one.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ProfileInput {
    pub name: String,
    /// A libpq URI or key=value string; fields below override what it says.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub url: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub host: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub port: Option<u16>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub user: Option<String>,
    /// A database other than `postgres` makes a single-database profile.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub database: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub mode: Option<DivisionMode>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub prefix: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub sslmode: Option<SslMode>,
    /// A PEM file of CA certificates to trust.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub ca_file: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub pool_size: Option<u32>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub connect_timeout_secs: Option<u64>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub statement_timeout_secs: Option<u64>,
    /// Stored in the OS keyring, never in the profile file.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub password: Option<String>,
    /// A command whose first line of output is the password ([`Profile::password_command`]).
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    #[serde(default)]
    pub password_command: Option<String>,
    /// How the profile signs in; unset keeps the saved method (a password for a new profile).
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub auth: Option<AuthMethod>,
    /// The SSH tunnel; unset keeps the saved one, an empty destination removes it.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub ssh: Option<SshSettings>,
    /// Replace an existing profile of that name.
    pub update: bool,
}

impl std::fmt::Debug for ProfileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileInput")
            .field("name", &self.name)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl ProfileInput {
    /// The patch this form describes. An empty text field is unset; write mode is never
    /// changed from a form (it has its own confirmation).
    pub fn patch(&self) -> ProfilePatch {
        let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        ProfilePatch {
            name: self.name.clone(),
            url: self.url.clone().filter(|u| !u.trim().is_empty()),
            from_env: false,
            host: text(&self.host),
            port: self.port,
            user: text(&self.user),
            database: text(&self.database),
            mode: self.mode,
            prefix: text(&self.prefix),
            sslmode: self.sslmode,
            ca_file: text(&self.ca_file).map(PathBuf::from),
            pool_size: self.pool_size,
            connect_timeout_secs: self.connect_timeout_secs,
            statement_timeout_secs: self.statement_timeout_secs,
            write_mode: None,
            password: text(&self.password).map(Secret::new),
            password_command: text(&self.password_command),
            ssh: self.ssh.clone(),
            auth: self.auth.clone(),
            made_by: format!("{} app", crate::PRODUCT_NAME),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_uri_makes_a_profile_and_fields_override_it() {
        let patch = ProfilePatch {
            name: "p".into(),
            url: Some("postgresql://bs:pw@h:5433/postgres?sslmode=require".into()),
            port: Some(6543),
            prefix: Some("bs_".into()),
            made_by: "test".into(),
            ..Default::default()
        };
        let (p, pw) = patch.apply(None, &no_env).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.user.as_str()),
            ("h", 6543, "bs")
        );
        assert_eq!(p.mode, DivisionMode::Database);
        assert_eq!(p.prefix, "bs_");
        assert_eq!(p.tls.sslmode, SslMode::Require);
        assert_eq!(p.source.as_deref(), Some("test"));
        assert_eq!(pw.unwrap().expose(), "pw");
    }

    #[test]
    fn a_uri_keeps_what_it_cannot_say_of_a_saved_profile() {
        let mut saved = Profile::new("p", "old", "u");
        saved.write_mode = true;
        saved.pool.max_connections = 9;
        let patch = ProfilePatch {
            name: "p".into(),
            url: Some("host=new user=v".into()),
            password: Some(Secret::new("given")),
            ..Default::default()
        };
        let (p, pw) = patch.apply(Some(saved), &no_env).unwrap();
        assert_eq!(p.host, "new");
        assert!(p.write_mode);
        assert_eq!(p.pool.max_connections, 9);
        assert_eq!(pw.unwrap().expose(), "given");
    }

    #[test]
    fn fields_need_a_host_and_a_user_and_a_database_makes_single_mode() {
        let patch = ProfilePatch {
            name: "p".into(),
            ..Default::default()
        };
        assert!(patch.apply(None, &no_env).is_err());
        let patch = ProfilePatch {
            host: Some("h".into()),
            ..patch
        };
        assert!(patch.apply(None, &no_env).is_err(), "no user");
        let login = |k: &str| (k == "USER").then(|| "me".to_string());
        let patch = ProfilePatch {
            database: Some("backstage".into()),
            write_mode: Some(true),
            ..patch
        };
        let (p, pw) = patch.apply(None, &login).unwrap();
        assert_eq!(p.user, "me");
        assert_eq!(p.mode, DivisionMode::Single);
        assert!(p.write_mode);
        assert!(pw.is_none());
    }

    #[test]
    fn a_form_leaves_empty_fields_and_write_mode_alone() {
        let input = ProfileInput {
            name: "p".into(),
            host: Some("h".into()),
            user: Some("u".into()),
            database: Some(String::new()),
            password: Some(String::new()),
            ..Default::default()
        };
        let patch = input.patch();
        assert!(patch.database.is_none() && patch.password.is_none());
        assert!(patch.write_mode.is_none());
        let (p, _) = patch.apply(None, &no_env).unwrap();
        assert_eq!(p.mode, DivisionMode::Database);
        assert_eq!(p.source.as_deref(), Some("Backstage Inspector app"));
        assert!(!format!("{input:?}").contains("password: Some(\"\")"));
    }
}
