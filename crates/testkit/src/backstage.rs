//! Databases written by real Backstage backends, restored from the committed dumps in
//! `tests/fixtures/backstage/<era>/<plugin>.sql.gz` (see that folder's README for how they
//! were made). Each era is one installation: `<prefix><plugin>` databases, as Backstage's
//! database mode names them.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::PgServer;

/// The eras the fixtures cover, oldest first.
pub const ERAS: [&str; 3] = ["2022-08", "2023-10", "current"];

/// The folder of one era's dumps.
pub fn dir(era: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/backstage")
        .join(era)
}

/// The plugin ids an era has dumps of, sorted.
pub fn plugins(era: &str) -> Vec<String> {
    let dir = dir(era);
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no Backstage fixtures at {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".sql.gz"))
                .map(str::to_string)
        })
        .collect();
    out.sort();
    out
}

/// The era's `manifest.json`, as text.
pub fn manifest(era: &str) -> String {
    let path = dir(era).join("manifest.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Restores every dump of `era` into new databases `<prefix><plugin>` on `server` and returns
/// their names. Panics with psql's message when a dump does not restore.
pub fn restore(server: &PgServer, era: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for plugin in plugins(era) {
        let name = format!("{prefix}{plugin}");
        server.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        let dump = dir(era).join(format!("{plugin}.sql.gz"));
        let mut gunzip = Command::new("gunzip")
            .arg("-c")
            .arg(&dump)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run gunzip");
        let out = Command::new(server.bin.join("psql"))
            .arg("-h")
            .arg(&server.socket_dir)
            .arg("-p")
            .arg(server.port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                &name,
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
            ])
            .stdin(gunzip.stdout.take().expect("gunzip stdout"))
            .stdout(Stdio::null())
            .output()
            .expect("run psql");
        let _ = gunzip.wait();
        assert!(
            out.status.success(),
            "restoring {} into {name} failed: {}",
            dump.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        names.push(name);
    }
    names
}

/// One restore of `era` on the shared server per test process, for tests that only read:
/// returns its prefix (such as `bs2022_06_1234_`).
pub fn shared_installation(era: &str) -> String {
    static DONE: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    let done = DONE.get_or_init(|| Mutex::new(Vec::new()));
    let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, prefix)) = done.iter().find(|(e, _)| e == era) {
        return prefix.clone();
    }
    let prefix = format!("bs{}_{}_", era.replace('-', "_"), std::process::id());
    restore(crate::shared(), era, &prefix);
    done.push((era.to_string(), prefix.clone()));
    prefix
}
