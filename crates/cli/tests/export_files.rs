//! `bsi export -o`: interrupted exports leave no temporary file behind, and special files are
//! written into rather than replaced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bsi_testkit::shared;

use common::{bsi, text, url};

const DB: &str = "bsi_export_files";

/// A database with a table big enough that exporting it takes seconds.
fn big_table() -> &'static str {
    static MADE: OnceLock<()> = OnceLock::new();
    MADE.get_or_init(|| {
        let s = shared();
        s.psql("postgres", &format!("DROP DATABASE IF EXISTS {DB}"));
        s.psql("postgres", &format!("CREATE DATABASE {DB}"));
        s.psql(
            DB,
            "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS body \
             FROM generate_series(1, 1500000) g; ALTER TABLE big ADD PRIMARY KEY (id);",
        );
    });
    DB
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".bsi-export-"))
        .collect()
}

/// Interrupts an export to a file that exists (`old`) or not; either way it is left as it was.
fn interrupted_export_leaves_nothing(signal: &str, code: i32, old: Option<&str>) {
    let db = big_table();
    let dir = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.csv");
    if let Some(old) = old {
        std::fs::write(&out, old).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_bsi"))
        .args([
            "--url",
            &url(),
            "export",
            "table",
            "big",
            "--database",
            db,
            "-o",
        ])
        .arg(&out)
        .env("BSI_CONFIG_DIR", config.path())
        .env("PGPASSWORD", &shared().password)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the export is writing its temporary file.
    let started = Instant::now();
    loop {
        let writing = std::fs::read_dir(dir.path()).unwrap().any(|e| {
            let e = e.unwrap();
            e.file_name().to_string_lossy().starts_with(".bsi-export-")
                && e.metadata().map(|m| m.len() > 0).unwrap_or(false)
        });
        if writing {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("bsi ended before it was interrupted: {status:?}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the export never started writing"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    assert_eq!(o.status.code(), Some(code), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("interrupted"),
        "{}",
        text(&o)
    );
    match old {
        Some(old) => assert_eq!(std::fs::read_to_string(&out).unwrap(), old),
        None => assert!(!out.exists(), "the target was created"),
    }
}

#[cfg(unix)]
#[test]
fn sigint_during_an_export_removes_its_temporary_file() {
    interrupted_export_leaves_nothing("-INT", 130, None);
}

#[cfg(unix)]
#[test]
fn sigterm_during_an_export_removes_its_temporary_file() {
    interrupted_export_leaves_nothing("-TERM", 143, Some("old"));
}

#[cfg(unix)]
#[test]
fn a_finished_export_replaces_the_target() {
    let db = big_table();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("few.csv");
    std::fs::write(&out, "old").unwrap();
    let o = bsi(&[
        "--url",
        &url(),
        "export",
        "table",
        "big",
        "--database",
        db,
        "--filter",
        "id<4",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn export_to_a_fifo_and_dev_null_writes_into_them() {
    use std::os::unix::fs::FileTypeExt;
    let db = big_table();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rows.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let args = |target: &str| {
        [
            "--url",
            &url(),
            "export",
            "table",
            "big",
            "--database",
            db,
            "--filter",
            "id<3",
            "-o",
            target,
        ]
        .map(str::to_string)
    };
    let a = args(fifo.to_str().unwrap());
    let o = bsi(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    let csv = reader.join().unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let a = args("/dev/null");
    let o = bsi(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}
