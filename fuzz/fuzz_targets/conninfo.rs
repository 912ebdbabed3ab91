//! libpq connection strings: `ConnInfo::parse` on any text (URIs, key=value strings) and
//! `ConnInfo::from_env` with the text as every `PG*` variable. What parses is written back as a
//! quoted key=value string and, when it can be, as a percent-encoded URI; both read back the
//! same.

#![no_main]

use bsi_core::conninfo::ConnInfo;
use libfuzzer_sys::fuzz_target;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// A value quoted for a key=value string, as libpq reads it.
fn quoted(v: &str) -> String {
    let mut out = String::from("'");
    for c in v.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn enc(v: &str) -> String {
    utf8_percent_encode(v, NON_ALPHANUMERIC).to_string()
}

fn keyvalue(ci: &ConnInfo) -> String {
    let mut pairs = Vec::new();
    if let Some(h) = &ci.host {
        pairs.push(format!("host={}", quoted(h)));
    }
    if let Some(p) = ci.port {
        pairs.push(format!("port={p}"));
    }
    if let Some(u) = &ci.user {
        pairs.push(format!("user={}", quoted(u)));
    }
    if let Some(p) = &ci.password {
        pairs.push(format!("password={}", quoted(p.expose())));
    }
    if let Some(d) = &ci.dbname {
        pairs.push(format!("dbname={}", quoted(d)));
    }
    if let Some(m) = ci.sslmode {
        pairs.push(format!("sslmode={}", m.as_str()));
    }
    if let Some(c) = &ci.sslrootcert {
        let c = c.to_str().expect("a parsed path is UTF-8");
        pairs.push(format!("sslrootcert={}", quoted(c)));
    }
    if let Some(t) = ci.connect_timeout {
        pairs.push(format!("connect_timeout={t}"));
    }
    pairs.join(" ")
}

/// The URI for `ci`, or `None` when a URI cannot say it (an empty host, user or database name
/// reads as absent).
fn uri(ci: &ConnInfo) -> Option<String> {
    let empty = |v: &Option<String>| v.as_deref() == Some("");
    if empty(&ci.host) || empty(&ci.user) || empty(&ci.dbname) {
        return None;
    }
    let mut s = String::from("postgresql://");
    match (&ci.user, &ci.password) {
        (Some(u), Some(p)) => s.push_str(&format!("{}:{}@", enc(u), enc(p.expose()))),
        (Some(u), None) => s.push_str(&format!("{}@", enc(u))),
        (None, Some(p)) => s.push_str(&format!(":{}@", enc(p.expose()))),
        (None, None) => {}
    }
    if let Some(h) = &ci.host {
        s.push_str(&enc(h));
    }
    if let Some(p) = ci.port {
        s.push_str(&format!(":{p}"));
    }
    if let Some(d) = &ci.dbname {
        s.push('/');
        s.push_str(&enc(d));
    }
    let mut query = Vec::new();
    if let Some(m) = ci.sslmode {
        query.push(format!("sslmode={}", m.as_str()));
    }
    if let Some(c) = &ci.sslrootcert {
        query.push(format!("sslrootcert={}", enc(c.to_str()?)));
    }
    if let Some(t) = ci.connect_timeout {
        query.push(format!("connect_timeout={t}"));
    }
    if !query.is_empty() {
        s.push('?');
        s.push_str(&query.join("&"));
    }
    Some(s)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ci) = ConnInfo::parse(text) {
        assert!(
            ci.host.as_deref().is_none_or(|h| !h.contains(',')),
            "several hosts accepted: {ci:?}"
        );
        let kv = keyvalue(&ci);
        if !kv.is_empty() {
            let back = ConnInfo::parse(&kv).unwrap_or_else(|e| panic!("{kv:?}: {e}"));
            assert!(
                back == ci,
                "{text:?} -> {kv:?} reads back as {back:?}, not {ci:?}"
            );
        }
        if let Some(u) = uri(&ci) {
            let back = ConnInfo::parse(&u).unwrap_or_else(|e| panic!("{u:?}: {e}"));
            assert!(
                back == ci,
                "{text:?} -> {u:?} reads back as {back:?}, not {ci:?}"
            );
        }
    }
    let _ = ConnInfo::parse(&format!("postgresql://{text}"));
    let _ = ConnInfo::parse(&format!("host={text}"));
    // The lines of the text as PGHOST, PGHOSTADDR, PGPORT, ... in this order.
    let lines: Vec<&str> = text.split('\n').collect();
    let var = |name: &str| {
        let i = VARS.iter().position(|v| *v == name)?;
        lines.get(i).map(|l| l.to_string())
    };
    if let Ok(ci) = ConnInfo::from_env(&var) {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        assert_eq!(ci.host, set("PGHOSTADDR").or(set("PGHOST")));
        assert_eq!(ci.user, set("PGUSER"));
        assert_eq!(
            ci.password.as_ref().map(|p| p.expose().to_string()),
            set("PGPASSWORD")
        );
        assert_eq!(ci.dbname, set("PGDATABASE"));
    }
});

const VARS: [&str; 9] = [
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGCONNECT_TIMEOUT",
];
