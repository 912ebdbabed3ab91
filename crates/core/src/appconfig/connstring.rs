//! Connection strings, as `backend.database.connection` or its `connectionString`: a URI read
//! the way `pg-connection-string` reads it (host, port, user, password and database always
//! set, empty when absent; `ssl`/`sslmode`/`sslrootcert` by its rules, libpq's meanings only
//! with `uselibpqcompat=true`), or a libpq key=value string, which node-postgres does not read
//! and the inspector accepts with a warning. Passwords are masked in what is shown and scrubbed
//! from error messages.

use percent_encoding::percent_decode_str;

use super::report::{Cx, MASKED};
use super::resolve::{Conn, Given, TlsGiven};
use super::tree::Origin;
use crate::conninfo::ConnInfo;
use crate::error::{CoreError, Result};
use crate::tls::{SslMode, TlsSettings};

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

/// A connection string: a URI the way `pg-connection-string` reads it, or (not understood by
/// node-postgres, accepted for convenience) a libpq key=value string.
pub(super) fn connection_string(
    input: &str,
    key: &str,
    origin: &Origin,
    cx: &mut Cx<'_>,
) -> Result<Conn> {
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
        ..Conn::default()
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

#[cfg(test)]
mod tests {
    use super::*;

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
