//! Importing profiles from Backstage app-config files (fixtures in fixtures/appconfig/).

use std::path::{Path, PathBuf};

use bsi_core::appconfig::{Imported, import};
use bsi_core::profile::{DivisionMode, PluginOverride};
use bsi_core::tls::SslMode;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/appconfig")
        .join(rel)
}

/// An environment made of `pairs` only: the process environment is never consulted.
fn env_of<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn import_ok(files: &[&str], env: &dyn Fn(&str) -> Option<String>) -> Imported {
    let files: Vec<PathBuf> = files.iter().map(|f| fixture(f)).collect();
    match import("imported", &files, &env) {
        Ok(i) => i,
        Err(e) => panic!("import failed: {e}"),
    }
}

fn import_err(files: &[&str], env: &dyn Fn(&str) -> Option<String>) -> String {
    let files: Vec<PathBuf> = files.iter().map(|f| fixture(f)).collect();
    match import("imported", &files, &env) {
        Ok(i) => panic!("import should fail, got {:?}", i.profile),
        Err(e) => {
            assert_eq!(e.code(), bsi_core::ErrorCode::Config, "{e}");
            e.to_string()
        }
    }
}

fn read_value<'a>(imported: &'a Imported, key: &str) -> &'a bsi_core::appconfig::ReadValue {
    imported
        .read
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("{key} not in read: {:#?}", imported.read))
}

/// Asserts that none of `secrets` appears anywhere an import may be shown or saved.
fn assert_no_secret(imported: &Imported, secrets: &[&str]) {
    let debug_profile = format!("{:?}", imported.profile);
    let toml = toml::to_string(&imported.profile).expect("profile serialises");
    let debug_all = format!("{imported:?}");
    let json_read = serde_json::to_string(&imported.read).expect("read serialises");
    for secret in secrets {
        assert!(
            !debug_profile.contains(secret),
            "{secret} in {debug_profile}"
        );
        assert!(!toml.contains(secret), "{secret} in {toml}");
        assert!(!debug_all.contains(secret), "{secret} in {debug_all}");
        assert!(!json_read.contains(secret), "{secret} in {json_read}");
        for w in &imported.warnings {
            assert!(!w.contains(secret), "{secret} in warning {w}");
        }
    }
}

#[test]
fn env_substitution_through_the_given_environment() {
    let env = env_of(&[
        ("POSTGRES_HOST", "pg.example.com"),
        ("POSTGRES_PORT", "6432"),
        ("POSTGRES_USER", " backstage "),
        ("POSTGRES_PASSWORD", "Pw-env-3Rt"),
    ]);
    let i = import_ok(&["env/app-config.yaml"], &env);
    let p = &i.profile;
    assert_eq!(p.name, "imported");
    assert_eq!(p.host, "pg.example.com");
    assert_eq!(p.port, 6432);
    assert_eq!(p.user, "backstage", "values are trimmed as Backstage does");
    assert_eq!(p.mode, DivisionMode::Database);
    assert_eq!(p.prefix, "backstage_plugin_");
    assert_eq!(p.database, None);
    assert_eq!(i.password.as_ref().map(|s| s.expose()), Some("Pw-env-3Rt"));
    assert!(i.plugin_passwords.is_empty());
    assert_eq!(i.files, vec![fixture("env/app-config.yaml")]);
    assert_eq!(
        p.source.as_deref(),
        Some(format!("app-config: {}", fixture("env/app-config.yaml").display()).as_str())
    );

    let host = read_value(&i, "backend.database.connection.host");
    assert_eq!(
        (host.value.as_str(), host.source.as_str()),
        ("pg.example.com", "env POSTGRES_HOST")
    );
    let pw = read_value(&i, "backend.database.connection.password");
    assert_eq!(pw.source, "env POSTGRES_PASSWORD");
    assert!(!pw.value.contains("Pw-env"), "{}", pw.value);
    let client = read_value(&i, "backend.database.client");
    assert_eq!(
        client.source,
        fixture("env/app-config.yaml").display().to_string()
    );

    // Only backend.database is read: the unset GITHUB_CLIENT_SECRET is not our business.
    assert!(
        !i.warnings.iter().any(|w| w.contains("GITHUB")),
        "{:?}",
        i.warnings
    );
    // No `ssl`: Backstage uses no TLS; the profile says prefer, and tells why.
    assert_eq!(p.tls.sslmode, SslMode::Prefer);
    assert!(
        i.warnings.iter().any(|w| w.contains("no `ssl`")),
        "{:?}",
        i.warnings
    );
    assert_no_secret(&i, &["Pw-env-3Rt"]);
}

#[test]
fn a_missing_variable_makes_the_value_unset_and_is_reported() {
    // The production file's ${POSTGRES_HOST} is unset: Backstage drops that value, so the base
    // file's host shows through.
    let env = env_of(&[("POSTGRES_PASSWORD", "Pw-missing-var-5Ue")]);
    let i = import_ok(
        &[
            "missing-var/app-config.yaml",
            "missing-var/app-config.production.yaml",
        ],
        &env,
    );
    assert_eq!(i.profile.host, "localhost");
    assert_eq!(
        read_value(&i, "backend.database.connection.host").value,
        "localhost"
    );
    assert_eq!(
        i.password.as_ref().map(|s| s.expose()),
        Some("Pw-missing-var-5Ue")
    );
    let w = i
        .warnings
        .iter()
        .find(|w| w.contains("${POSTGRES_HOST}"))
        .unwrap_or_else(|| panic!("no warning: {:?}", i.warnings));
    assert!(
        w.contains("app-config.production.yaml") && w.contains("connection.host"),
        "{w}"
    );

    // With nothing set, the password is simply absent.
    let i = import_ok(
        &[
            "missing-var/app-config.yaml",
            "missing-var/app-config.production.yaml",
        ],
        &no_env,
    );
    assert!(i.password.is_none());
    assert!(
        i.warnings
            .iter()
            .any(|w| w.contains("${POSTGRES_PASSWORD}"))
    );
}

#[test]
fn env_and_file_forms() {
    let env = env_of(&[("DB_HOST", "db.forms.example")]);
    let i = import_ok(&["forms/app-config.yaml"], &env);
    assert_eq!(i.profile.host, "db.forms.example");
    assert_eq!(i.profile.port, 5433);
    // `$file` content with its trailing newline trimmed (Backstage: trimEnd()).
    assert_eq!(
        i.password.as_ref().map(|s| s.expose()),
        Some("Pw-from-file-8Jq")
    );
    assert_eq!(
        read_value(&i, "backend.database.connection.host").source,
        "env DB_HOST"
    );
    let pw = read_value(&i, "backend.database.connection.password");
    assert!(
        pw.source.starts_with("file ") && pw.source.ends_with("db-password.txt"),
        "{}",
        pw.source
    );
    assert_no_secret(&i, &["Pw-from-file-8Jq"]);

    // `$env` of an unset variable: the value is unset, and said so.
    let i = import_ok(&["forms/app-config.yaml"], &no_env);
    assert_eq!(i.profile.host, "localhost");
    assert!(
        i.warnings.iter().any(|w| w.contains("$env: DB_HOST")),
        "{:?}",
        i.warnings
    );
}

#[test]
fn connection_string() {
    let i = import_ok(&["connstring/app-config.yaml"], &no_env);
    let p = &i.profile;
    assert_eq!(p.host, "db.example.com");
    assert_eq!(p.port, 6543);
    assert_eq!(p.user, "bs_reader");
    assert_eq!(
        i.password.as_ref().map(|s| s.expose()),
        Some("Pw-conn!str-5Tz")
    );
    // node-postgres treats sslmode=require as verify-full (without uselibpqcompat=true).
    assert_eq!(p.tls.sslmode, SslMode::VerifyFull);
    assert!(
        i.warnings.iter().any(|w| w.contains("sslmode=require")),
        "{:?}",
        i.warnings
    );
    // Database mode ignores the database of the base connection, and says so.
    assert_eq!(p.mode, DivisionMode::Database);
    assert_eq!(p.database, None);
    assert!(
        i.warnings.iter().any(|w| w.contains("`backstage`")),
        "{:?}",
        i.warnings
    );
    let shown = read_value(&i, "backend.database.connection");
    assert!(
        shown
            .value
            .starts_with("postgresql://bs_reader:••••••••@db.example.com:6543/backstage"),
        "{}",
        shown.value
    );
    assert_no_secret(&i, &["Pw-conn!str-5Tz", "Pw-conn%21str-5Tz"]);
}

#[test]
fn ssl_true_verifies() {
    let i = import_ok(&["ssl-true/app-config.yaml"], &no_env);
    assert_eq!(i.profile.tls.sslmode, SslMode::VerifyFull);
    assert!(!i.profile.tls.has_ca());
    assert_eq!(i.profile.port, 5432, "node-postgres' default port");
    assert_eq!(
        read_value(&i, "backend.database.connection.ssl").value,
        "true"
    );
    assert_no_secret(&i, &["Pw-ssl-true-2Kd"]);
}

#[test]
fn ssl_reject_unauthorized_false_is_require() {
    let i = import_ok(&["ssl-noverify/app-config.yaml"], &no_env);
    assert_eq!(i.profile.tls.sslmode, SslMode::Require);
    assert!(!i.profile.tls.has_ca());
    assert_eq!(i.profile.port, 5432, "a port given as a string");
    // `require: true` from Backstage's docs is accepted silently.
    assert!(
        !i.warnings.iter().any(|w| w.contains("ssl.require")),
        "{:?}",
        i.warnings
    );
}

#[test]
fn ssl_ca_from_file_becomes_the_root_cert_path() {
    let env = env_of(&[("POSTGRES_PASSWORD", "Pw-ca-0Lp")]);
    let i = import_ok(&["ssl-ca/app-config.yaml"], &env);
    let tls = &i.profile.tls;
    assert_eq!(tls.sslmode, SslMode::VerifyFull);
    let root = tls.root_cert.as_ref().expect("root_cert set");
    assert!(
        root.is_absolute() && root.ends_with("certs/ca.pem"),
        "{}",
        root.display()
    );
    assert!(root.is_file());
    assert_eq!(tls.root_cert_pem, None);
    let ca = read_value(&i, "backend.database.connection.ssl.ca");
    assert!(
        ca.source.starts_with("file ") && ca.value.contains("1 certificate"),
        "{ca:?}"
    );
    // The profile is consistent: validate() checks that the CA file exists.
    i.profile.validate().expect("valid profile");
}

#[test]
fn ssl_ca_inline_pem_goes_to_root_cert_pem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app-config.yaml");
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection:\n      host: h\n      user: u\n      \
         ssl:\n        ca: |\n          -----BEGIN CERTIFICATE-----\n          MIIB\n          \
         -----END CERTIFICATE-----\n",
    )
    .expect("write");
    let i = import("inline", &[path], &no_env).expect("import");
    assert_eq!(i.profile.tls.sslmode, SslMode::VerifyFull);
    assert_eq!(i.profile.tls.root_cert, None);
    assert!(
        i.profile
            .tls
            .root_cert_pem
            .as_deref()
            .is_some_and(|p| p.contains("MIIB"))
    );
}

#[test]
fn two_files_merge_in_order() {
    let i = import_ok(
        &["merge/app-config.yaml", "merge/app-config.local.yaml"],
        &no_env,
    );
    let p = &i.profile;
    assert_eq!(p.host, "postgres.default.svc", "kept from the first file");
    assert_eq!(p.port, 15432, "overridden by the local file");
    assert_eq!(p.prefix, "bs_");
    assert_eq!(
        p.tls.sslmode,
        SslMode::Require,
        "ssl kept from the first file"
    );
    assert_eq!(
        i.files,
        vec![
            fixture("merge/app-config.yaml"),
            fixture("merge/app-config.local.yaml")
        ]
    );
    let port = read_value(&i, "backend.database.connection.port");
    assert_eq!(port.value, "15432");
    assert_eq!(
        port.source,
        fixture("merge/app-config.local.yaml").display().to_string()
    );
    // The plugin override added by the local file differs only by host.
    assert_eq!(
        p.plugins.get("catalog"),
        Some(&PluginOverride {
            host: Some("catalog-db.default.svc".into()),
            ..Default::default()
        })
    );
    assert!(
        i.plugin_passwords.is_empty(),
        "the catalog inherits the base password"
    );
    assert_eq!(p.plugin_database("catalog"), "bs_catalog");
    assert!(
        p.source
            .as_deref()
            .is_some_and(|s| s.contains("app-config.yaml") && s.contains("app-config.local.yaml"))
    );

    // The other order: the local file's port is overridden back.
    let i = import_ok(
        &["merge/app-config.local.yaml", "merge/app-config.yaml"],
        &no_env,
    );
    assert_eq!(i.profile.port, 5432);
}

#[test]
fn plugin_overrides_with_their_own_password() {
    let env = env_of(&[
        ("POSTGRES_PASSWORD", "Pw-main-2Gf"),
        ("SCAFFOLDER_DB_PASSWORD", "Pw-scaffolder-7Yh"),
    ]);
    let i = import_ok(&["plugins/app-config.yaml"], &env);
    let p = &i.profile;
    assert_eq!(p.host, "main-db");
    assert_eq!(p.tls.sslmode, SslMode::VerifyFull);
    assert_eq!(i.password.as_ref().map(|s| s.expose()), Some("Pw-main-2Gf"));

    let scaffolder = p.plugins.get("scaffolder").expect("scaffolder override");
    assert_eq!(scaffolder.host.as_deref(), Some("scaffolder-db"));
    assert_eq!(scaffolder.user.as_deref(), Some("scaffolder"));
    assert_eq!(scaffolder.port, None, "same port as the base");
    assert_eq!(
        scaffolder.tls.as_ref().map(|t| t.sslmode),
        Some(SslMode::Require)
    );
    assert!(scaffolder.own_password);
    assert_eq!(
        i.plugin_passwords.get("scaffolder").map(|s| s.expose()),
        Some("Pw-scaffolder-7Yh")
    );

    // Only the database differs; the base password is inherited.
    assert_eq!(
        p.plugins.get("search"),
        Some(&PluginOverride {
            database: Some("search_index".into()),
            ..Default::default()
        })
    );
    assert_eq!(p.plugin_database("search"), "search_index");

    // A connection string resets host, port, user and password but keeps the base `ssl`.
    let auth = p.plugins.get("auth").expect("auth override");
    assert_eq!(auth.host.as_deref(), Some("auth-db"));
    assert_eq!(auth.port, Some(5433));
    assert_eq!(auth.user.as_deref(), Some("auth_user"));
    assert_eq!(auth.tls, None);
    assert_eq!(auth.database, None);
    assert!(auth.own_password);
    assert_eq!(
        i.plugin_passwords.get("auth").map(|s| s.expose()),
        Some("Pw-auth-uri-1Vb")
    );

    assert!(
        !p.plugins.contains_key("techdocs"),
        "nothing about where it lives"
    );
    assert_eq!(i.plugin_passwords.len(), 2);

    // role, knexConfig and ensureExists are read and explained.
    assert_eq!(
        read_value(&i, "backend.database.role").value,
        "backstage_owner"
    );
    assert_eq!(
        read_value(&i, "backend.database.ensureExists").value,
        "true"
    );
    assert_eq!(
        read_value(&i, "backend.database.plugin.techdocs.ensureExists").value,
        "false"
    );
    for needle in [
        "SET ROLE backstage_owner",
        "knexConfig",
        "ensureExists is true",
    ] {
        assert!(
            i.warnings.iter().any(|w| w.contains(needle)),
            "{needle}: {:?}",
            i.warnings
        );
    }
    assert_no_secret(&i, &["Pw-main-2Gf", "Pw-scaffolder-7Yh", "Pw-auth-uri-1Vb"]);
}

#[test]
fn schema_mode() {
    let i = import_ok(&["schema/app-config.yaml"], &no_env);
    let p = &i.profile;
    assert_eq!(p.mode, DivisionMode::Schema);
    assert_eq!(p.database.as_deref(), Some("backstage_shared"));
    assert_eq!(
        p.plugins.get("catalog"),
        Some(&PluginOverride {
            database: Some("catalog_only".into()),
            ..Default::default()
        })
    );
    assert_eq!(
        read_value(&i, "backend.database.pluginDivisionMode").value,
        "schema"
    );
    assert_eq!(
        read_value(&i, "backend.database.ensureSchemaExists").value,
        "true"
    );
    p.validate().expect("valid profile");
}

#[test]
fn schema_mode_without_a_database_uses_pgdatabase_or_the_user_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app-config.yaml");
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    pluginDivisionMode: schema\n    \
         connection:\n      host: h\n      user: bsuser\n",
    )
    .expect("write");
    let i = import("s", std::slice::from_ref(&path), &no_env).expect("import");
    assert_eq!(i.profile.database.as_deref(), Some("bsuser"));
    let env = env_of(&[("PGDATABASE", "from_env")]);
    let i = import("s", &[path], &env).expect("import");
    assert_eq!(i.profile.database.as_deref(), Some("from_env"));
    assert_eq!(
        read_value(&i, "backend.database.connection.database").source,
        "env PGDATABASE"
    );
}

#[test]
fn node_postgres_env_fallbacks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app-config.yaml");
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection: {}\n",
    )
    .expect("write");
    let env = env_of(&[
        ("PGHOST", "env-host"),
        ("PGPORT", "6000"),
        ("PGUSER", "env-user"),
        ("PGPASSWORD", "Pw-pgpassword-4Nn"),
        ("PGSSLMODE", "no-verify"),
    ]);
    let i = import("e", &[path], &env).expect("import");
    assert_eq!(i.profile.host, "env-host");
    assert_eq!(i.profile.port, 6000);
    assert_eq!(i.profile.user, "env-user");
    assert_eq!(i.profile.tls.sslmode, SslMode::Require);
    assert_eq!(
        i.password.as_ref().map(|s| s.expose()),
        Some("Pw-pgpassword-4Nn")
    );
    assert_eq!(
        read_value(&i, "backend.database.connection.host").source,
        "env PGHOST"
    );
    assert_no_secret(&i, &["Pw-pgpassword-4Nn"]);
}

#[test]
fn a_non_pg_client_is_a_clear_error() {
    let e = import_err(&["sqlite/app-config.yaml"], &no_env);
    assert!(
        e.starts_with("backend.database.client is `better-sqlite3` in "),
        "{e}"
    );
    assert!(e.contains("sqlite/app-config.yaml"), "{e}");
    assert!(
        e.contains("PostgreSQL only") && e.contains("`client: pg`"),
        "{e}"
    );

    // `postgres` is not an alias in Backstage either.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app-config.yaml");
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: postgres\n    connection: {}\n",
    )
    .expect("write");
    let e = import("x", std::slice::from_ref(&path), &no_env)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`postgres`") && e.contains("change it to `client: pg`"),
        "{e}"
    );

    // A plugin on another client Backstage knows is skipped with a note; the others import.
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection: {host: h, user: u}\n    plugin:\n      \
         catalog:\n        client: better-sqlite3\n      scaffolder:\n        connection: {host: s}\n",
    )
    .expect("write");
    let i = import("x", std::slice::from_ref(&path), &no_env).expect("import");
    assert_eq!(
        i.other_clients.get("catalog").map(String::as_str),
        Some("better-sqlite3")
    );
    assert!(!i.profile.plugins.contains_key("catalog"));
    assert_eq!(i.profile.plugins["scaffolder"].host.as_deref(), Some("s"));
    assert!(
        i.warnings.iter().any(
            |w| w.contains("backend.database.plugin.catalog.client") && w.contains("`catalog`")
        ),
        "{:?}",
        i.warnings
    );

    // A client Backstage does not know refuses, naming the plugin.
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection: {host: h, user: u}\n    plugin:\n      \
         catalog:\n        client: cockroach\n",
    )
    .expect("write");
    let e = import("x", &[path], &no_env).unwrap_err().to_string();
    assert!(
        e.contains("backend.database.plugin.catalog.client") && e.contains("`catalog`"),
        "{e}"
    );
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let e = import_err(
        &[
            "malformed/app-config.yaml",
            "malformed/app-config.local.yaml",
        ],
        &no_env,
    );
    let file = fixture("malformed/app-config.local.yaml")
        .display()
        .to_string();
    assert!(e.starts_with(&format!("{file} line 7 column ")), "{e}");
    assert!(e.contains("mapping values are not allowed"), "{e}");
    assert!(!e.contains("secret: value"), "{e}");
}

#[test]
fn missing_database_section_names_the_files() {
    let e = import_err(&["no-database/app-config.yaml"], &no_env);
    assert!(e.contains("no backend.database section"), "{e}");
    assert!(e.contains("no-database/app-config.yaml"), "{e}");
}

#[test]
fn unreadable_and_odd_files() {
    let e = import_err(&["does-not-exist/app-config.yaml"], &no_env);
    assert!(e.starts_with("cannot read app-config file "), "{e}");
    assert!(e.contains("does-not-exist/app-config.yaml"), "{e}");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("list.yaml");
    std::fs::write(&path, "- a\n- b\n").expect("write");
    let e = import("x", &[path], &no_env).unwrap_err().to_string();
    assert!(
        e.contains("list.yaml") && e.contains("not a mapping"),
        "{e}"
    );

    let e = import_err(&["include/app-config.yaml"], &no_env);
    assert!(
        e.contains("backend.database.connection") && e.contains("$include"),
        "{e}"
    );
    assert!(e.contains("include/app-config.yaml"), "{e}");

    let e = import("bad/name", &[fixture("ssl-true/app-config.yaml")], &no_env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("invalid profile name"), "{e}");
    assert!(import("x", &[], &no_env).is_err());
}

#[test]
fn cloudsql_and_rds_are_kept_on_the_profile_without_a_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app-config.yaml");
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection:\n      type: cloudsql\n      \
         instance: proj:region:inst\n      ipAddressType: PRIVATE\n      user: sa@proj.iam\n",
    )
    .expect("write");
    let i = import("x", std::slice::from_ref(&path), &no_env).expect("import");
    assert_eq!(
        i.profile.connection_type,
        Some(bsi_core::profile::ConnectionType::Cloudsql)
    );
    assert_eq!(
        i.profile.auth,
        bsi_core::profile::AuthMethod::Cloudsql {
            instance: Some("proj:region:inst".into()),
            route: bsi_core::profile::CloudsqlRoute::Connector,
            ip_type: bsi_core::profile::CloudsqlIpType::Private,
        }
    );
    assert!(
        i.warnings.iter().any(|w| w.contains("IAM token")
            && w.contains("route `connector`")
            && w.contains("host and port are not used")),
        "{:?}",
        i.warnings
    );
    let toml = toml::to_string(&i.profile).expect("profile serialises");
    assert!(toml.contains("connection_type = \"cloudsql\""), "{toml}");
    assert!(toml.contains("method = \"cloudsql\""), "{toml}");
    assert!(toml.contains("instance = \"proj:region:inst\""), "{toml}");
    assert!(toml.contains("route = \"connector\""), "{toml}");
    assert!(toml.contains("ip_type = \"private\""), "{toml}");
    // A profile saved before the routes existed keeps its meaning: the proxy route.
    let old: bsi_core::profile::AuthMethod =
        toml::from_str("method = \"cloudsql\"\ninstance = \"p:r:i\"\n").expect("old auth");
    assert_eq!(
        old,
        bsi_core::profile::AuthMethod::Cloudsql {
            instance: Some("p:r:i".into()),
            route: bsi_core::profile::CloudsqlRoute::Proxy,
            ip_type: bsi_core::profile::CloudsqlIpType::Public,
        }
    );

    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection:\n      type: rds\n      \
         host: db.rds.amazonaws.com\n      port: 5432\n      user: iam_user\n      \
         password: Pw-ignored-by-rds-1Aa\n",
    )
    .expect("write");
    // Backstage needs a region for RDS tokens.
    let e = import("x", std::slice::from_ref(&path), &no_env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("region") && e.contains("AWS_REGION"), "{e}");
    let i = import("x", &[path], &env_of(&[("AWS_REGION", "eu-west-1")])).expect("import");
    assert_eq!(
        i.profile.connection_type,
        Some(bsi_core::profile::ConnectionType::Rds)
    );
    assert_eq!(i.profile.host, "db.rds.amazonaws.com");
    assert!(i.password.is_none());
    assert!(
        i.warnings.iter().any(|w| w.contains("IAM")),
        "{:?}",
        i.warnings
    );
    assert_no_secret(&i, &["Pw-ignored-by-rds-1Aa"]);
    // The profile signs RDS IAM tokens itself, in the region Backstage would use.
    assert_eq!(
        i.profile.auth,
        bsi_core::profile::AuthMethod::Rds {
            region: Some("eu-west-1".into()),
            aws_profile: None
        }
    );
}

#[test]
fn azure_becomes_the_entra_id_auth_method_and_its_client_secret_is_kept_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app-config.yaml");
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection:\n      type: azure\n      \
         host: pg.postgres.database.azure.com\n      port: 5432\n      user: backstage-app\n      \
         ssl: true\n      tokenCredential:\n        clientId: cid-1\n        tenantId: tid-1\n        \
         clientSecret: ${AZ_SECRET}\n        tokenRenewableOffsetTime: 10m\n",
    )
    .expect("write");
    let i = import(
        "az",
        std::slice::from_ref(&path),
        &env_of(&[("AZ_SECRET", "Az-secret-8Kq")]),
    )
    .expect("import");
    assert_eq!(
        i.profile.auth,
        bsi_core::profile::AuthMethod::Azure {
            client_id: Some("cid-1".into()),
            tenant_id: Some("tid-1".into())
        }
    );
    assert_eq!(
        i.azure_client_secret.as_ref().map(|s| s.expose()),
        Some("Az-secret-8Kq")
    );
    assert!(i.password.is_none());
    let toml = toml::to_string(&i.profile).expect("profile serialises");
    assert!(toml.contains("method = \"azure\""), "{toml}");
    assert!(toml.contains("client_id = \"cid-1\""), "{toml}");
    assert_no_secret(&i, &["Az-secret-8Kq"]);
    // Profiles written before the auth method load as password profiles.
    let old: bsi_core::profile::Profile =
        toml::from_str("name = \"old\"\nhost = \"h\"\nport = 5432\nuser = \"u\"\n")
            .expect("old profile");
    assert!(old.auth.is_password());
}

#[test]
fn no_password_leaks_anywhere() {
    let env = env_of(&[
        ("POSTGRES_PASSWORD", "Pw-main-2Gf"),
        ("SCAFFOLDER_DB_PASSWORD", "Pw-scaffolder-7Yh"),
    ]);
    let i = import_ok(&["plugins/app-config.yaml"], &env);
    assert_no_secret(&i, &["Pw-main-2Gf", "Pw-scaffolder-7Yh", "Pw-auth-uri-1Vb"]);
    let i = import_ok(
        &["merge/app-config.yaml", "merge/app-config.local.yaml"],
        &no_env,
    );
    assert_no_secret(&i, &["Pw-merge-base-6Wn"]);
    let i = import_ok(&["schema/app-config.yaml"], &no_env);
    assert_no_secret(&i, &["Pw-schema-9Hc"]);
    // The masked values are what the user sees.
    assert!(
        i.read
            .iter()
            .any(|r| r.key == "backend.database.connection.password" && r.value == "••••••••")
    );
}

#[test]
fn connection_string_errors_and_displays_hide_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app-config.yaml");
    // An unencoded `/` cuts this URI in the wrong place: the port becomes `Pw-a`.
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection: postgresql://u:Pw-a/b-9Xx@h:5432/db\n",
    )
    .expect("write");
    let e = import("x", std::slice::from_ref(&path), &no_env)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("backend.database.connection") && e.contains("app-config.yaml"),
        "{e}"
    );
    assert!(!e.contains("Pw-a") && !e.contains("9Xx"), "{e}");

    // A key=value string: read with libpq's rules, with a warning that Backstage cannot.
    std::fs::write(
        &path,
        "backend:\n  database:\n    client: pg\n    connection: \"host=kv-host port=5544 user=kv \
         password='Pw kv 6Ee' sslmode=verify-ca\"\n",
    )
    .expect("write");
    let i = import("x", &[path], &no_env).expect("import");
    assert_eq!(i.profile.host, "kv-host");
    assert_eq!(i.profile.port, 5544);
    assert_eq!(i.profile.tls.sslmode, SslMode::VerifyCa);
    assert_eq!(i.password.as_ref().map(|s| s.expose()), Some("Pw kv 6Ee"));
    assert!(
        i.warnings.iter().any(|w| w.contains("key=value")),
        "{:?}",
        i.warnings
    );
    assert_no_secret(&i, &["Pw kv 6Ee"]);
}

/// Imports `files` from `dir`, expecting a config error.
fn import_err_in(dir: &Path, files: &[&str]) -> String {
    let files: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    match import("imported", &files, &no_env) {
        Ok(i) => panic!("import should fail, got {:?}", i.profile),
        Err(e) => {
            assert_eq!(e.code(), bsi_core::ErrorCode::Config, "{e}");
            e.to_string()
        }
    }
}

fn password_file_config(dir: &Path, target: &str) {
    std::fs::write(
        dir.join("app-config.yaml"),
        format!(
            "backend:\n  database:\n    client: pg\n    connection:\n      host: db\n      \
             user: u\n      password:\n        $file: {target}\n"
        ),
    )
    .expect("write");
}

#[cfg(unix)]
#[test]
fn file_reads_regular_files_of_at_most_a_mebibyte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();

    // A device is never read (it would grow without end).
    password_file_config(dir.path(), "/dev/zero");
    let e = import_err_in(dir.path(), &["app-config.yaml"]);
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file") && e.contains("app-config"),
        "{e}"
    );
    password_file_config(dir.path(), "/dev/urandom");
    let e = import_err_in(dir.path(), &["app-config.yaml"]);
    assert!(e.contains("not a regular file"), "{e}");

    // A FIFO with no writer is not opened (opening it would block).
    let fifo = dir.path().join("pw.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    password_file_config(dir.path(), "pw.fifo");
    let e = import_err_in(dir.path(), &["app-config.yaml"]);
    assert!(
        e.contains("pw.fifo") && e.contains("not a regular file"),
        "{e}"
    );

    // Larger than the limit.
    std::fs::write(dir.path().join("big.txt"), vec![b'x'; 1024 * 1024 + 1]).expect("write");
    password_file_config(dir.path(), "big.txt");
    let e = import_err_in(dir.path(), &["app-config.yaml"]);
    assert!(e.contains("big.txt") && e.contains("1 MiB"), "{e}");

    // At the limit, and through a symlink, it is read.
    std::fs::write(dir.path().join("ok.txt"), vec![b'x'; 1024 * 1024]).expect("write");
    std::os::unix::fs::symlink(dir.path().join("ok.txt"), dir.path().join("link.txt"))
        .expect("symlink");
    password_file_config(dir.path(), "link.txt");
    let files = [dir.path().join("app-config.yaml")];
    let imported = import("imported", &files, &no_env).expect("import");
    let pw = read_value(&imported, "backend.database.connection.password");
    assert!(pw.source.starts_with("file "), "{pw:?}");

    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// The app-config files themselves: a device is read no further than 16 MiB, a directory is
/// refused, a pipe (as `--app-config <(kubectl ...)` gives) is read to its end; an `$include`
/// target obeys the `$file` rules.
#[cfg(unix)]
#[test]
fn app_config_files_and_includes_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let e = match import("imported", &[PathBuf::from("/dev/zero")], &no_env) {
        Ok(i) => panic!("/dev/zero imported: {:?}", i.profile),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("/dev/zero") && e.contains("16 MiB"), "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "/dev/zero took {:?}",
        started.elapsed()
    );
    let e = match import("imported", &[dir.path().to_path_buf()], &no_env) {
        Ok(i) => panic!("a directory imported: {:?}", i.profile),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("is a directory") && e.contains("app-config.yaml"),
        "{e}"
    );

    // A pipe with a writer: read to its end, as Backstage reads the file it names.
    let fifo = dir.path().join("config.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(
                fifo,
                "backend:\n  database:\n    client: pg\n    connection:\n      host: piped.example\n      user: u\n",
            )
            .expect("write the pipe")
        })
    };
    let imported = import("imported", &[fifo], &no_env).expect("import from a pipe");
    writer.join().expect("writer");
    assert_eq!(imported.profile.host, "piped.example");

    // `$include` of a device and of a file over the limit.
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    // (A YAML name: Backstage includes .yaml, .yml and .json files only.)
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.yaml")).expect("symlink");
    write(
        "inc-dev.yaml",
        "backend:\n  database:\n    $include: zero.yaml\n",
    );
    let e = import_err_in(dir.path(), &["inc-dev.yaml"]);
    assert!(
        e.contains("zero.yaml") && e.contains("not a regular file") && e.contains("$include"),
        "{e}"
    );
    let mut big = String::from("client: pg\n# ");
    big.push_str(&"x".repeat(1024 * 1024));
    write("big.yaml", &big);
    write(
        "inc-big.yaml",
        "backend:\n  database:\n    $include: big.yaml\n",
    );
    let e = import_err_in(dir.path(), &["inc-big.yaml"]);
    assert!(e.contains("big.yaml") && e.contains("1 MiB"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deep = 100_000;
    let flow = format!(
        "backend:\n  database:\n    client: pg\n    x: {}{}\n",
        "[".repeat(deep),
        "]".repeat(deep)
    );
    std::fs::write(dir.path().join("flow.yaml"), flow).expect("write");
    let mut block = String::from("backend:\n  database:\n    client: pg\n    x:\n");
    for _ in 0..deep {
        block.push_str("- ");
    }
    block.push_str("x\n");
    std::fs::write(dir.path().join("block.yaml"), block).expect("write");
    for file in ["flow.yaml", "block.yaml"] {
        let started = std::time::Instant::now();
        let e = import_err_in(dir.path(), &[file]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{file} took {:?}",
            started.elapsed()
        );
        assert!(
            e.contains(file) && e.contains("nested more than 128 levels"),
            "{e}"
        );
    }
    // Nesting within the limit still parses.
    let ok = format!(
        "app:\n  x: {}{}\nbackend:\n  database:\n    client: pg\n    connection:\n      host: db\n      \
         user: u\n",
        "[".repeat(60),
        "]".repeat(60)
    );
    std::fs::write(dir.path().join("ok.yaml"), ok).expect("write");
    import("imported", &[dir.path().join("ok.yaml")], &no_env).expect("import");
}

#[test]
fn a_file_that_includes_itself_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(
        "self.yaml",
        "backend:\n  database:\n    client: pg\n    connection:\n      host: db\n      more:\n        \
         $include: self.yaml#backend.database\n",
    );
    // Through another file.
    write(
        "a.yaml",
        "backend:\n  database:\n    client: pg\n    connection:\n      $include: b.yaml#c\n",
    );
    write(
        "b.yaml",
        "c:\n  host: db\n  more:\n    $include: a.yaml#backend.database\n",
    );
    for file in ["self.yaml", "a.yaml"] {
        let started = std::time::Instant::now();
        let e = import_err_in(dir.path(), &[file]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(
            e.contains("nested more than 128 levels") && e.contains("includes itself"),
            "{e}"
        );
    }
}

#[test]
fn alias_expansion_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut laughs =
        String::from("backend:\n  database:\n    client: pg\n    a0: &a0 [lol, lol, lol]\n");
    for i in 1..=9 {
        let prev = i - 1;
        laughs.push_str(&format!(
            "    a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, \
             *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    std::fs::write(dir.path().join("laughs.yaml"), laughs).expect("write");
    let started = std::time::Instant::now();
    let e = import_err_in(dir.path(), &["laughs.yaml"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(e.contains("laughs.yaml") && e.contains("aliases"), "{e}");

    // Many aliases of a large value: refused before parsing.
    let mut wide = String::from("backend:\n  database:\n    client: pg\n    big: &big [");
    wide.push_str(&"x, ".repeat(20_000));
    wide.push_str("x]\n    copies:\n");
    for _ in 0..2_000 {
        wide.push_str("      - *big\n");
    }
    std::fs::write(dir.path().join("wide.yaml"), wide).expect("write");
    let e = import_err_in(dir.path(), &["wide.yaml"]);
    assert!(e.contains("wide.yaml") && e.contains("aliases"), "{e}");
}
