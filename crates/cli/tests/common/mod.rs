//! Set-up shared by the tests that run `bsi` against the harness's PostgreSQL as the
//! superuser (password in `PGPASSWORD`), each run with a config folder of its own.

#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

use bsi_testkit::shared;

/// Runs `bsi` with `args` and an empty config folder.
pub fn bsi(args: &[&str]) -> Output {
    let config = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_bsi"))
        .args(args)
        .env("BSI_CONFIG_DIR", config.path())
        .env("PGPASSWORD", &shared().password)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
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
