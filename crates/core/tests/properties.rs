//! Property tests of the parsers that take text from outside: libpq connection strings,
//! app-config files, the SQL splitter, ANSI log text and redaction. A fixed seed and no failure
//! files keep the runs the same everywhere.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde_json::Value;

use bsi_core::ansi::{self, Span};
use bsi_core::appconfig::import;
use bsi_core::conninfo::ConnInfo;
use bsi_core::redact::{REDACTED, decode_jwt, is_jwt, mask_jwt, redact_json, redact_text};
use bsi_core::sql::{Statement, split};
use bsi_core::tls::SslMode;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x6273_6921),
        ..ProptestConfig::default()
    }
}

/// Text made mostly of the characters a parser treats specially, with some of anything else.
fn text_of(special: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(special).prop_map(str::to_string),
        1 => any::<String>(),
        1 => "[a-zA-Z0-9 ]{0,6}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn sslmode() -> impl Strategy<Value = SslMode> {
    proptest::sample::select(SslMode::ALL.to_vec())
}

// ---------------------------------------------------------------------------------------------
// conninfo

/// Quotes a value for a key=value connection string, as libpq reads it.
fn kv_quote(v: &str, quoted: bool) -> String {
    let mut out = String::new();
    if quoted {
        out.push('\'');
    }
    for c in v.chars() {
        if c == '\\' || c == '\'' || (!quoted && c.is_whitespace()) {
            out.push('\\');
        }
        out.push(c);
    }
    if quoted {
        out.push('\'');
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conninfo_never_panics(
        s in prop_oneof![
            any::<String>(),
            text_of(&["postgresql://", "postgres://", "@", ":", "/", "?", "&", "=", "[", "]",
                      "%", "%4", "%zz", "%C3", "%ff", ",", "'", "\\", " ", "host", "port",
                      "sslmode", "password", "ssl=true", "65536", "é"]),
        ],
        env_value in any::<String>(),
    ) {
        let _ = ConnInfo::parse(&s);
        let _ = ConnInfo::parse(&format!("postgresql://{s}"));
        let _ = ConnInfo::parse(&format!("host={s}"));
        let env = |_: &str| Some(env_value.clone());
        let _ = ConnInfo::from_env(&env);
    }

    #[test]
    fn uri_parts_round_trip(
        host in prop_oneof![
            "[a-z][a-z0-9-]{0,12}(\\.[a-z][a-z0-9-]{0,8}){0,3}",
            Just("::1".to_string()),
            Just("fe80::1:2".to_string()),
            // Anything else is percent-encoded (an IPv6 literal is the only host in brackets).
            "[^,\\[\\]:]{1,12}",
        ],
        port in proptest::option::of(1u16..),
        user in proptest::option::of("\\PC{1,16}"),
        password in proptest::option::of("\\PC{0,24}"),
        dbname in proptest::option::of("\\PC{1,16}"),
        mode in proptest::option::of(sslmode()),
        timeout in proptest::option::of(0u64..100_000),
        scheme in prop_oneof![Just("postgresql"), Just("postgres")],
    ) {
        let mut uri = format!("{scheme}://");
        match (&user, &password) {
            (Some(u), Some(p)) => uri.push_str(&format!("{}:{}@", enc(u), enc(p))),
            (Some(u), None) => uri.push_str(&format!("{}@", enc(u))),
            (None, Some(p)) => uri.push_str(&format!(":{}@", enc(p))),
            (None, None) => {}
        }
        if host.contains(':') {
            uri.push_str(&format!("[{host}]"));
        } else {
            uri.push_str(&enc(&host));
        }
        if let Some(p) = port {
            uri.push_str(&format!(":{p}"));
        }
        if let Some(d) = &dbname {
            uri.push_str(&format!("/{}", enc(d)));
        }
        let mut query = Vec::new();
        if let Some(m) = mode {
            query.push(format!("sslmode={}", m.as_str()));
        }
        if let Some(t) = timeout {
            query.push(format!("connect_timeout={t}"));
        }
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(&query.join("&"));
        }
        let ci = ConnInfo::parse(&uri).map_err(|e| TestCaseError::fail(format!("{uri}: {e}")))?;
        prop_assert_eq!(ci.host.as_deref(), Some(host.as_str()), "{}", uri);
        prop_assert_eq!(ci.port, port);
        prop_assert_eq!(ci.user, user);
        prop_assert_eq!(ci.password.as_ref().map(|p| p.expose().to_string()), password);
        prop_assert_eq!(ci.dbname, dbname);
        prop_assert_eq!(ci.sslmode, mode);
        prop_assert_eq!(ci.connect_timeout, timeout);
    }

    #[test]
    fn keyvalue_quoting_round_trips(
        host in "[^,]{0,16}",
        user in any::<String>(),
        password in any::<String>(),
        dbname in any::<String>(),
        rootcert in "[^\\x00]{1,24}",
        port in 1u16..,
        mode in sslmode(),
        quoted in proptest::collection::vec(any::<bool>(), 5),
        seps in proptest::collection::vec("[ \t\n]{1,3}", 8),
        eq in proptest::collection::vec(prop_oneof![Just("="), Just(" = "), Just("\t=")], 8),
    ) {
        // An empty value can only be written quoted; a value ending in whitespace last in the
        // string is quoted too, since the string is trimmed before it is read.
        let q = |v: &str, i: usize| quoted[i] || v.is_empty() || i == 4;
        let pairs = [
            ("host", kv_quote(&host, q(&host, 0))),
            ("user", kv_quote(&user, q(&user, 1))),
            ("dbname", kv_quote(&dbname, q(&dbname, 2))),
            ("sslrootcert", kv_quote(&rootcert, q(&rootcert, 3))),
            ("port", port.to_string()),
            ("sslmode", mode.as_str().to_string()),
            ("password", kv_quote(&password, q(&password, 4))),
        ];
        let mut s = String::from("host=placeholder");
        for (i, (k, v)) in pairs.iter().enumerate() {
            s.push_str(&seps[i]);
            s.push_str(k);
            s.push_str(eq[i]);
            s.push_str(v);
        }
        let ci = ConnInfo::parse(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        prop_assert_eq!(ci.host.as_deref(), Some(host.as_str()), "{:?}", s);
        prop_assert_eq!(ci.user.as_deref(), Some(user.as_str()));
        prop_assert_eq!(ci.dbname.as_deref(), Some(dbname.as_str()));
        prop_assert_eq!(ci.sslrootcert, Some(PathBuf::from(&rootcert)));
        prop_assert_eq!(ci.port, Some(port));
        prop_assert_eq!(ci.sslmode, Some(mode));
        prop_assert_eq!(ci.password.as_ref().map(|p| p.expose()), Some(password.as_str()));
    }
}

// ---------------------------------------------------------------------------------------------
// app-config

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn appconfig_never_panics(
        text in prop_oneof![
            any::<String>(),
            text_of(&["backend:\n", "  database:\n", "    client: pg\n", "client: sqlite3\n",
                      "    connection:\n", "      host: h\n", "      port: 5432\n",
                      "port: x\n", "      password: ", "${PW}", "${MISSING}", "$${", "${",
                      "$env: PW\n", "$file: secret.txt\n", "$file: missing.txt\n",
                      "$file: .\n", "$include: x.yaml\n", "pluginDivisionMode: schema\n",
                      "plugin:\n", "  catalog:\n", "ssl:\n", "  ca: ", "rejectUnauthorized: false\n",
                      "ssl: true\n", "connection: postgresql://u:p@h/db?sslmode=require\n",
                      "connection: host=h user=u\n", "- ", "{", "}", "[", "]", ": ", "\"", "'",
                      "&a ", "*a", "<<: *a\n", "!!str ", "---\n", "...\n", "\t", "  ", "\n", "#"]),
        ],
        pw in any::<String>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("secret.txt"), "file-secret\n").expect("write");
        let path = dir.path().join("app-config.yaml");
        std::fs::write(&path, &text).expect("write");
        let env = |name: &str| (name == "PW" || name.starts_with("PG")).then(|| pw.clone());
        let _ = import("p", &[path], &env);
    }

    #[test]
    fn appconfig_connection_objects_import(
        host in "[a-z][a-z0-9-]{0,12}(\\.[a-z][a-z0-9-]{0,8}){0,2}",
        port in 1u16..,
        user in "[a-z][a-z0-9_]{0,12}",
        database in "[a-z][a-z0-9_]{0,12}",
        core in "[A-Za-z0-9]{12}",
        specials in "[ !\"#%&'()*+,./:;<=>?@\\[\\\\\\]^_`|~éß✓€😀-]{0,12}",
        schema_mode in any::<bool>(),
        via_env in any::<bool>(),
    ) {
        // The password has a distinctive core, so that a leak shows even when escaped.
        let password = format!("Pw{core}{specials}");
        let pw_yaml = if via_env { "${DB_PASSWORD}".to_string() } else { yaml_str(&password) };
        let mode = if schema_mode { "    pluginDivisionMode: schema\n" } else { "" };
        let text = format!(
            "backend:\n  database:\n    client: pg\n{mode}    connection:\n      host: {}\n      \
             port: {port}\n      user: {}\n      password: {pw_yaml}\n      database: {}\n",
            yaml_str(&host), yaml_str(&user), yaml_str(&database),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app-config.yaml");
        std::fs::write(&path, &text).expect("write");
        let env = |name: &str| (name == "DB_PASSWORD").then(|| password.clone());
        let i = import("p", &[path], &env)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&i.profile.host, &host);
        prop_assert_eq!(i.profile.port, port);
        prop_assert_eq!(&i.profile.user, &user);
        if schema_mode {
            prop_assert_eq!(i.profile.database.as_deref(), Some(database.as_str()));
        }
        // `${VAR}` is trimmed, as Backstage trims it.
        let want = if via_env { password.trim() } else { password.as_str() };
        prop_assert_eq!(i.password.as_ref().map(|p| p.expose()), Some(want));
        let shown = [
            format!("{i:?}"),
            format!("{:?}", i.profile),
            toml::to_string(&i.profile).expect("profile serialises"),
            serde_json::to_string(&i.read).expect("read serialises"),
            i.warnings.join("\n"),
        ];
        for s in &shown {
            prop_assert!(!s.contains(&core), "password in {}", s);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SQL splitter

/// One piece of code inside a statement: never a comment at either end.
fn sql_code() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        "[0-9]{1,4}",
        proptest::sample::select(vec!["(", ")", ",", "=", "*", "+", "::", "$1", "$2"])
            .prop_map(str::to_string),
        // A string with `;`, doubled quotes, comment and dollar-quote look-alikes inside.
        proptest::collection::vec(
            prop_oneof![
                "[^']",
                Just("''".to_string()),
                Just(";".to_string()),
                Just("--".to_string()),
                Just("/*".to_string()),
                Just("$$".to_string())
            ],
            0..8,
        )
        .prop_map(|v| format!("'{}'", v.concat())),
        // A quoted identifier.
        proptest::collection::vec(
            prop_oneof!["[^\"]", Just("\"\"".to_string()), Just(";".to_string())],
            1..6,
        )
        .prop_map(|v| format!("\"{}\"", v.concat())),
        // A dollar-quoted body (no `$` inside, so it cannot hold its own tag).
        ("[A-Za-z_][A-Za-z0-9_]{0,4}|", "[^$]{0,24}").prop_map(|(t, b)| format!("${t}${b}${t}$")),
    ]
}

fn sql_comment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\n]{0,12}".prop_map(|c| format!("--{c}\n")),
        "[^*/]{0,12}".prop_map(|c| format!("/*{c}*/")),
        Just("/* a /* nested ; */ ; */".to_string()),
        Just("-- ; ' \" $$\n".to_string()),
    ]
}

fn sql_statement() -> impl Strategy<Value = String> {
    let middle = proptest::collection::vec(prop_oneof![3 => sql_code(), 1 => sql_comment()], 0..6);
    let ws = proptest::collection::vec("[ \t\n]{1,2}", 8);
    // Not `$1` first: a statement does not start with a parameter.
    let first = sql_code().prop_filter("starts with a parameter", |c| {
        !c.starts_with("$1") && !c.starts_with("$2")
    });
    (first, middle, sql_code(), ws).prop_map(|(first, middle, last, ws)| {
        let mut s = first;
        let mut ws = ws.into_iter().cycle();
        for m in middle.into_iter().chain(std::iter::once(last)) {
            s.push_str(&ws.next().unwrap_or_default());
            s.push_str(&m);
        }
        s
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sql_split_never_panics(
        s in prop_oneof![
            any::<String>(),
            text_of(&["'", "\"", "''", "$", "$$", "$a$", "$1", "--", "/*", "*/", "/", "*", "-",
                      ";", "\n", "é", "✓", " ", "\x0b", "\u{a0}"]),
        ],
    ) {
        for st in split(&s) {
            prop_assert!(!st.sql.is_empty());
            prop_assert!(st.line >= 1);
            // A statement starts with its code, on the line given.
            prop_assert_eq!(split(&st.sql), vec![Statement { line: 1, ..st.clone() }]);
        }
    }

    #[test]
    fn sql_split_round_trips(
        stmts in proptest::collection::vec(sql_statement(), 1..6),
        gaps in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![
                "[ \t\n]{1,2}",
                sql_comment(),
                Just(";".to_string()),
            ], 0..3),
            6,
        ),
        trailing_semicolon in any::<bool>(),
    ) {
        let mut text = String::new();
        let mut lines = Vec::new();
        for (i, st) in stmts.iter().enumerate() {
            if i > 0 {
                text.push(';');
            }
            text.push_str(&gaps[i].concat());
            lines.push(text.matches('\n').count() + 1);
            text.push_str(st);
        }
        if trailing_semicolon {
            text.push(';');
        }
        let got = split(&text);
        let sqls: Vec<&str> = got.iter().map(|s| s.sql.as_str()).collect();
        let want: Vec<&str> = stmts.iter().map(|s| s.as_str()).collect();
        prop_assert_eq!(sqls, want, "{:?}", text);
        let got_lines: Vec<usize> = got.iter().map(|s| s.line).collect();
        prop_assert_eq!(got_lines, lines);
    }
}

// ---------------------------------------------------------------------------------------------
// ANSI

/// A well-formed escape sequence, which parsing removes.
fn escape_sequence() -> impl Strategy<Value = String> {
    prop_oneof![
        // SGR, with all sorts of parameters.
        "[0-9;:]{0,14}".prop_map(|p| format!("\x1b[{p}m")),
        "(3[0-9]|4[0-9]|9[0-7]|10[0-7]|38;5;[0-9]{1,3}|48;2;[0-9]{1,3};[0-9]{1,3};[0-9]{1,3}|[0-9])"
            .prop_map(|p| format!("\x1b[{p}m")),
        // Other CSI sequences, with ESC [ or the one-byte C1 CSI.
        ("[0-9;?<=>]{0,6}", "[ -/]{0,2}", "[@-~]")
            .prop_map(|(p, i, f)| format!("\x1b[{p}{i}{f}")),
        ("[0-9;]{0,6}", "[@-~]").prop_map(|(p, f)| format!("\u{9b}{p}{f}")),
        // OSC and other strings, ended by BEL, ST or ESC \.
        (
            proptest::sample::select(vec![']', 'P', 'X', '^', '_']),
            "[^\x1b\x07\u{9c}]{0,16}",
            proptest::sample::select(vec!["\x07", "\x1b\\", "\u{9c}"]),
        )
            .prop_map(|(k, body, end)| format!("\x1b{k}{body}{end}")),
        // Character set designation.
        ("[()*+\\-./#% ]", "[!-~]").prop_map(|(i, c)| format!("\x1b{i}{c}")),
        // Two-byte escapes.
        "[!\"$&',0-9:;<=>?@A-OQ-WYZ`a-z{|}~\\\\]".prop_map(|c| format!("\x1b{c}")),
    ]
}

fn style_of(s: &Span) -> Span {
    Span {
        text: String::new(),
        ..s.clone()
    }
}

fn check_spans(spans: &[Span]) -> Result<(), TestCaseError> {
    for s in spans {
        prop_assert!(!s.text.is_empty(), "empty span in {:?}", spans);
        prop_assert!(
            !s.text.contains(['\x1b', '\u{9b}']),
            "escape kept in {:?}",
            spans
        );
    }
    for w in spans.windows(2) {
        prop_assert_ne!(
            style_of(&w[0]),
            style_of(&w[1]),
            "unmerged spans in {:?}",
            spans
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ansi_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        s in prop_oneof![
            any::<String>(),
            text_of(&["\x1b", "\x1b[", "\x1b]", "\u{9b}", "\u{9c}", "\x07", "\\", "[", "]", ";",
                      ":", "m", "38", "48", "5", "2", "0", "255", "999999999999", "P", "(",
                      "é", "\n"]),
        ],
    ) {
        for input in [String::from_utf8_lossy(&bytes).into_owned(), s] {
            let spans = ansi::parse(&input);
            check_spans(&spans)?;
            let joined: String = spans.iter().map(|s| s.text.as_str()).collect();
            prop_assert_eq!(ansi::strip(&input), joined);
            // What is rendered for a terminal reads back as the same spans.
            prop_assert_eq!(ansi::parse(&ansi::render(&spans)), spans);
        }
    }

    #[test]
    fn ansi_spans_keep_all_text(
        parts in proptest::collection::vec(
            prop_oneof![
                "[^\x1b\u{9b}]{1,12}".prop_map(|t| (t, true)),
                escape_sequence().prop_map(|e| (e, false)),
            ],
            0..16,
        ),
    ) {
        let input: String = parts.iter().map(|(p, _)| p.as_str()).collect();
        let want: String = parts.iter().filter(|(_, text)| *text).map(|(p, _)| p.as_str()).collect();
        let spans = ansi::parse(&input);
        check_spans(&spans)?;
        let joined: String = spans.iter().map(|s| s.text.as_str()).collect();
        prop_assert_eq!(&joined, &want, "{:?}", input);
        prop_assert_eq!(ansi::strip(&input), want);
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction

fn jwt() -> impl Strategy<Value = (String, String)> {
    (
        proptest::sample::select(vec!["HS256", "RS256", "ES256", "EdDSA", "none"]),
        proptest::option::of("[a-z0-9-]{1,8}"),
        proptest::collection::btree_map("[a-z]{1,6}", "\\PC{0,12}", 0..4),
        proptest::collection::vec(any::<u8>(), 16..64),
    )
        .prop_map(|(alg, kid, claims, sig)| {
            let mut header = serde_json::json!({ "alg": alg, "typ": "JWT" });
            if let Some(k) = kid {
                header["kid"] = Value::String(k);
            }
            let h = URL_SAFE_NO_PAD.encode(header.to_string());
            let p = URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims).expect("claims"));
            let s = URL_SAFE_NO_PAD.encode(sig);
            (format!("{h}.{p}.{s}"), s)
        })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        text_of(&["eyJ", ".", "=", "-", "_", "eyJhbGciOiJIUzI1NiJ9"]).prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("\\PC{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const SECRET_NAMES: &[&str] = &[
    "password",
    "Password",
    "DB_PASSWORD",
    "dbPassword",
    "secret",
    "clientSecret",
    "client_secret",
    "token",
    "backstageToken",
    "access_token",
    "refresh_token",
    "id_token",
    "Authorization",
    "cookie",
    "private_key",
    "__initiatorCredentials",
];

/// A JSON tree whose secret-named keys hold values containing `marker`.
fn json_with_secrets(marker: String) -> impl Strategy<Value = Value> {
    let secret_value = {
        let m = marker.clone();
        prop_oneof![
            "\\PC{0,8}".prop_map(move |s| Value::String(format!("{s}{m}"))),
            Just(serde_json::json!({ "inner": marker.clone(), "list": [marker.clone()] })),
            Just(serde_json::json!([marker])),
        ]
    };
    let entry = prop_oneof![
        (proptest::sample::select(SECRET_NAMES), secret_value)
            .prop_map(|(k, v)| (k.to_string(), v)),
        ("[a-z]{1,8}", json_value()),
    ];
    let obj =
        proptest::collection::vec(entry, 0..6).prop_map(|e| Value::Object(e.into_iter().collect()));
    obj.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            (
                "[a-z]{1,8}",
                inner.clone(),
                proptest::sample::select(SECRET_NAMES),
                "\\PC{0,6}"
            )
                .prop_map(|(k, v, sk, sv)| serde_json::json!({ k: v, sk: sv })),
        ]
    })
}

/// Every value under a secret-named key is [`REDACTED`].
fn secrets_masked(v: &Value) -> Result<(), TestCaseError> {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if SECRET_NAMES.contains(&k.as_str()) {
                    prop_assert_eq!(val, &Value::String(REDACTED.to_string()), "{}", k);
                } else {
                    secrets_masked(val)?;
                }
            }
        }
        Value::Array(a) => a.iter().try_for_each(secrets_masked)?,
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn redaction_never_panics(
        s in prop_oneof![
            any::<String>(),
            text_of(&["eyJ", "eyJhbGciOiJIUzI1NiJ9", ".", "..", "=", "-", "_", " ", "é", "{",
                      "\"alg\""]),
        ],
        mut v in json_value(),
    ) {
        let out = redact_text(&s);
        if !s.contains("eyJ") {
            prop_assert_eq!(&out, &s);
        }
        let _ = is_jwt(&s);
        let _ = decode_jwt(&s);
        let _ = mask_jwt(&s);
        redact_json(&mut v);
    }

    #[test]
    fn jwt_signatures_never_survive(
        (token, sig) in jwt(),
        before in any::<String>(),
        sep in proptest::sample::select(vec![" ", "\n", "\"", ":", "(", "<", "Bearer ", "&"]),
        after in prop_oneof![
            any::<String>(),
            text_of(&[".", "..", "=", "-", "_", " ", "eyJ", "abc", "\n"]),
        ],
    ) {
        // The text before ends in a character that cannot be part of a token; the text after
        // is anything (a full stop, more base64url characters, another dot-separated part).
        let text = format!("{before}{sep}{token}{after}");
        let out = redact_text(&text);
        prop_assert!(!out.contains(&sig), "signature kept: {:?}", out);
        let mut v = serde_json::json!({ "message": text, "list": [token] });
        redact_json(&mut v);
        prop_assert!(!v.to_string().contains(&sig), "signature kept: {}", v);
    }

    #[test]
    fn secret_named_keys_are_masked(
        v in "[A-Za-z0-9]{16}".prop_flat_map(|m| {
            let marker = format!("S3cr{m}");
            (Just(marker.clone()), json_with_secrets(marker))
        }),
    ) {
        let (marker, mut v) = v;
        redact_json(&mut v);
        secrets_masked(&v)?;
        prop_assert!(!v.to_string().contains(&marker), "secret kept: {}", v);
    }
}
