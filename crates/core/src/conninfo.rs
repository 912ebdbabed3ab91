//! libpq connection strings: URIs (`postgresql://user:pw@host:port/db?sslmode=...`), key=value
//! strings (`host=... port=... sslmode=...`) and the `PG*` environment variables.
//!
//! Parsing yields a [`ConnInfo`] whose password is a [`Secret`]; turning it into a profile
//! takes the password out, so that what is saved never holds it.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;

use crate::error::{CoreError, Result};
use crate::secrets::Secret;
use crate::tls::SslMode;

/// The parts of a libpq connection string that the inspector uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnInfo {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub dbname: Option<String>,
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Option<u64>,
}

impl ConnInfo {
    /// Parses a URI or a key=value string.
    pub fn parse(input: &str) -> Result<Self> {
        // The end of a key=value string is not trimmed here: a value may end in an escaped
        // space (`password=abc\ `); the parser skips the whitespace between pairs itself.
        let s = input.trim_start();
        if s.starts_with("postgresql://") || s.starts_with("postgres://") {
            parse_uri(s.trim_end())
        } else if s.contains('=') {
            parse_keyvalue(s)
        } else {
            Err(CoreError::config(
                "not a PostgreSQL connection string: expected a URI such as \
                 postgresql://user@host:5432/db?sslmode=require or key=value pairs such as \
                 `host=db.example.com user=backstage sslmode=require`",
            ))
        }
    }

    /// Reads `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`,
    /// `PGSSLROOTCERT` and `PGCONNECT_TIMEOUT` through `env`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let mut ci = ConnInfo::default();
        for (var, key) in [
            ("PGHOST", "host"),
            ("PGHOSTADDR", "hostaddr"),
            ("PGPORT", "port"),
            ("PGUSER", "user"),
            ("PGPASSWORD", "password"),
            ("PGDATABASE", "dbname"),
            ("PGSSLMODE", "sslmode"),
            ("PGSSLROOTCERT", "sslrootcert"),
            ("PGCONNECT_TIMEOUT", "connect_timeout"),
        ] {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                ci.set(key, v).map_err(|e| match e {
                    CoreError::Config(m) => CoreError::config(format!("{var}: {m}")),
                    other => other,
                })?;
            }
        }
        Ok(ci)
    }

    /// Fills every field that is unset here from `other`.
    pub fn or(mut self, other: ConnInfo) -> Self {
        self.host = self.host.or(other.host);
        self.port = self.port.or(other.port);
        self.user = self.user.or(other.user);
        self.password = self.password.or(other.password);
        self.dbname = self.dbname.or(other.dbname);
        self.sslmode = self.sslmode.or(other.sslmode);
        self.sslrootcert = self.sslrootcert.or(other.sslrootcert);
        self.connect_timeout = self.connect_timeout.or(other.connect_timeout);
        self
    }

    fn set(&mut self, key: &str, value: String) -> Result<()> {
        match key {
            "host" | "hostaddr" => {
                if value.contains(',') {
                    return Err(CoreError::config(format!(
                        "several hosts (`{value}`) are not supported; give the one host to inspect"
                    )));
                }
                self.host = Some(value);
            }
            "port" => {
                self.port = Some(value.parse().map_err(|_| {
                    CoreError::config(format!(
                        "port `{value}` is not a number between 1 and 65535"
                    ))
                })?);
            }
            "user" => self.user = Some(value),
            "password" => self.password = Some(Secret::new(value)),
            "dbname" => self.dbname = Some(value),
            "sslmode" => self.sslmode = Some(value.parse()?),
            "sslrootcert" => self.sslrootcert = Some(PathBuf::from(value)),
            "connect_timeout" => {
                self.connect_timeout = Some(value.parse().map_err(|_| {
                    CoreError::config(format!(
                        "connect_timeout `{value}` is not a number of seconds"
                    ))
                })?);
            }
            // Accepted and ignored: they do not change what is inspected.
            "application_name"
            | "fallback_application_name"
            | "options"
            | "keepalives"
            | "keepalives_idle"
            | "keepalives_interval"
            | "keepalives_count"
            | "target_session_attrs"
            | "sslcompression"
            | "gssencmode"
            | "channel_binding"
            | "sslsni" => {}
            other => {
                return Err(CoreError::config(format!(
                    "unsupported connection parameter `{other}`; supported: host, port, user, \
                     password, dbname, sslmode, sslrootcert, connect_timeout"
                )));
            }
        }
        Ok(())
    }
}

fn decode(part: &str, what: &str) -> Result<String> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            CoreError::config(format!(
                "the {what} in the URI is not valid percent-encoded UTF-8"
            ))
        })
}

fn parse_uri(s: &str) -> Result<ConnInfo> {
    let rest = s
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| CoreError::config("malformed URI"))?;
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let mut ci = ConnInfo::default();
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            match userinfo.split_once(':') {
                Some((u, p)) => {
                    ci.user = Some(decode(u, "user name")?).filter(|u| !u.is_empty());
                    ci.password = Some(Secret::new(decode(p, "password")?));
                }
                None => ci.user = Some(decode(userinfo, "user name")?).filter(|u| !u.is_empty()),
            }
            hostport
        }
        None => authority,
    };
    if hostport.contains(',') {
        return Err(CoreError::config(
            "several hosts in one URI are not supported; give the one host to inspect",
        ));
    }
    let (host, port) = if let Some(stripped) = hostport.strip_prefix('[') {
        // IPv6 literal: [::1]:5432
        let (h, after) = stripped
            .split_once(']')
            .ok_or_else(|| CoreError::config("unterminated IPv6 address in URI: missing `]`"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (decode(h, "host")?, Some(p)),
            None => (decode(hostport, "host")?, None),
        }
    };
    if host.contains(',') {
        // `%2C` decodes to a comma that libpq would not read as a list separator either.
        return Err(CoreError::config(format!(
            "the host `{host}` holds a comma (`%2C` in the URI): a host name cannot contain              one, and several hosts are not supported; give the one host to inspect"
        )));
    }
    if !host.is_empty() {
        ci.host = Some(host);
    }
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        ci.set("port", p.to_string())?;
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        ci.dbname = Some(decode(db, "database name")?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                CoreError::config(format!(
                    "URI parameter `{pair}` has no value; write it as key=value"
                ))
            })?;
            let k = decode(k, "parameter name")?;
            // libpq accepts `ssl=true` from JDBC-style URIs as sslmode=require.
            if k == "ssl" {
                if v == "true" || v == "1" {
                    ci.sslmode = Some(SslMode::Require);
                }
                continue;
            }
            ci.set(&k, decode(v, "parameter value")?)?;
        }
    }
    Ok(ci)
}

fn parse_keyvalue(s: &str) -> Result<ConnInfo> {
    let mut ci = ConnInfo::default();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(CoreError::config(format!(
                "missing `=` after `{key}` in the connection string"
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(CoreError::config(format!(
                    "unterminated quoted value for `{key}` in the connection string"
                )));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        ci.set(&key, value)?;
    }
    Ok(ci)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_trailing_space_is_kept() {
        let ci = ConnInfo::parse("host=db password=abc\\ ").unwrap();
        assert_eq!(ci.password.as_ref().map(|p| p.expose()), Some("abc "));
        let ci = ConnInfo::parse("  host=db password='x y '  ").unwrap();
        assert_eq!(ci.password.as_ref().map(|p| p.expose()), Some("x y "));
        assert_eq!(ci.host.as_deref(), Some("db"));
    }

    #[test]
    fn uri_with_everything() {
        let ci = ConnInfo::parse(
            "postgresql://back%40stage:p%40ss:w@db.example.com:6432/backstage_plugin_catalog?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(ci.user.as_deref(), Some("back@stage"));
        assert_eq!(ci.password.as_ref().map(|p| p.expose()), Some("p@ss:w"));
        assert_eq!(ci.host.as_deref(), Some("db.example.com"));
        assert_eq!(ci.port, Some(6432));
        assert_eq!(ci.dbname.as_deref(), Some("backstage_plugin_catalog"));
        assert_eq!(ci.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(ci.sslrootcert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(ci.connect_timeout, Some(3));
    }

    #[test]
    fn uri_minimal_and_ipv6() {
        let ci = ConnInfo::parse("postgres://[::1]:5433").unwrap();
        assert_eq!(ci.host.as_deref(), Some("::1"));
        assert_eq!(ci.port, Some(5433));
        assert!(ci.user.is_none() && ci.password.is_none() && ci.dbname.is_none());
    }

    #[test]
    fn keyvalue_with_quotes() {
        let ci = ConnInfo::parse(
            r"host=localhost port=5432 user=bs password='it\'s a secret' sslmode=require",
        )
        .unwrap();
        assert_eq!(ci.password.unwrap().expose(), "it's a secret");
        assert_eq!(ci.sslmode, Some(SslMode::Require));
        assert_eq!(ci.user.as_deref(), Some("bs"));
    }

    #[test]
    fn bad_inputs_name_the_problem() {
        let e = ConnInfo::parse("postgres://h/db?sslmode=sometimes")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sometimes") && e.contains("verify-full"), "{e}");
        let e = ConnInfo::parse("postgresql://backstage:s1cr%@@@@@42t@l%2cost=db.i/n/")
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds a comma"), "{e}");
        let e = ConnInfo::parse("host=a frobnicate=1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("frobnicate"), "{e}");
        let e = ConnInfo::parse("postgres://h:99999/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("99999"), "{e}");
        let e = ConnInfo::parse("just words").unwrap_err().to_string();
        assert!(e.contains("URI"), "{e}");
        let e = ConnInfo::parse("password='open").unwrap_err().to_string();
        assert!(e.contains("unterminated"), "{e}");
    }

    #[test]
    fn env_vars() {
        let env = |k: &str| match k {
            "PGHOST" => Some("pg.internal".to_string()),
            "PGPORT" => Some("5544".to_string()),
            "PGUSER" => Some("reader".to_string()),
            "PGPASSWORD" => Some("pw".to_string()),
            "PGSSLMODE" => Some("verify-ca".to_string()),
            _ => None,
        };
        let ci = ConnInfo::from_env(&env).unwrap();
        assert_eq!(ci.host.as_deref(), Some("pg.internal"));
        assert_eq!(ci.port, Some(5544));
        assert_eq!(ci.sslmode, Some(SslMode::VerifyCa));
        assert_eq!(ci.password.unwrap().expose(), "pw");
        let bad = |k: &str| (k == "PGPORT").then(|| "x".to_string());
        let e = ConnInfo::from_env(&bad).unwrap_err().to_string();
        assert!(e.starts_with("PGPORT"), "{e}");
    }
}
