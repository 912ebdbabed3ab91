//! Set-up shared by the tests that run `bsi` against the harness's PostgreSQL as the
//! superuser (password in `PGPASSWORD`), each run with a config folder of its own.

#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

use bsi_core::connect::Connections;
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::demo::{FillOptions, fill};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;

/// Runs `bsi` with `args` and an empty config folder.
pub fn bsi(args: &[&str]) -> Output {
    let config = tempfile::tempdir().unwrap();
    bsi_in(config.path(), args, Some(&shared().password))
}

/// Runs `bsi` with `args` and the config folder `config`; `PGPASSWORD` is `password`, or unset.
pub fn bsi_in(config: &std::path::Path, args: &[&str], password: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bsi"));
    c.args(args)
        .env("BSI_CONFIG_DIR", config)
        .env_remove("RUST_LOG")
        .env_remove("BSI_PROFILE")
        .stdin(Stdio::null());
    match password {
        Some(pw) => c.env("PGPASSWORD", pw),
        None => c.env_remove("PGPASSWORD"),
    };
    c.output().unwrap()
}

/// Standard output and standard error, together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The harness's server as the superuser, over TLS (`require`).
pub fn url() -> String {
    format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=require",
        shared().port
    )
}

/// Plugin databases under `prefix`: our migrations applied through `bsi migrate apply`, then
/// `size` generated entities (seed `seed`) in `areas` through the one fill (which finds the
/// migrations applied and only generates).
pub async fn prepare(prefix: &str, areas: &[&str], size: usize, seed: u64) {
    let out = bsi(&[
        "--url",
        &url(),
        "--prefix",
        prefix,
        "--write",
        "migrate",
        "apply",
        "--create-databases",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let s = shared();
    let mut p = Profile::new("cli-tests", "localhost", "postgres");
    p.port = s.port;
    p.prefix = prefix.to_string();
    p.mode = DivisionMode::Database;
    p.tls.sslmode = SslMode::Require;
    p.write_mode = true;
    p.pool.statement_timeout_secs = 600;
    let c = Connections::new(p, Some(Secret::new(s.password.clone())));
    let o = GenerateOptions {
        seed,
        ..GenerateOptions::size(size)
    };
    fill(&c, &FillOptions::new(areas, o), &|_| {})
        .await
        .unwrap();
    c.close().await;
}
