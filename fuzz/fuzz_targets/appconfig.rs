//! The app-config import (`appconfig::import`) on any YAML. The input is cut at lines
//! `#--8<--` into up to four parts: `app-config.yaml`, `app-config.local.yaml` (the second file
//! merged), `included.yaml` (for `$include`) and `NAME=value` lines (the environment, for
//! `${VAR}`, `$env` and `APP_CONFIG_*`). The folder also holds `secret.txt` (for `$file`), and
//! the environment has `PW` and `HOST`. The import must end (libFuzzer's timeout catches a hang),
//! never panic, and, when a password came from `PW` or `secret.txt` (one `PW`, `$env` or `$file`
//! in the input, no aliases or includes that could copy it elsewhere), show it nowhere: not in the profile, the
//! values read or the warnings.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bsi_core::appconfig::{VarList, import};
use libfuzzer_sys::fuzz_target;

/// What is in every secret the folder and environment hold, and nowhere else.
const MARK: &str = "7f3c9a2e";
const CUT: &str = "\n#--8<--\n";

fn folder() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("secret.txt"), format!("file-{MARK}\n"))
            .expect("secret.txt written");
        dir
    })
    .path()
}

fn write(name: &str, text: &str) -> PathBuf {
    let path = folder().join(name);
    std::fs::write(&path, text).expect("file written");
    path
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(4, CUT);
    let main = parts.next().unwrap_or_default();
    let local = parts.next();
    let included = parts.next().unwrap_or_default();
    let env_lines = parts.next().unwrap_or_default();

    // Every file is written each time, so that nothing of an earlier input is read.
    let mut files = vec![write("app-config.yaml", main)];
    let local_path = write("app-config.local.yaml", local.unwrap_or_default());
    if local.is_some() {
        files.push(local_path);
    }
    write("included.yaml", included);

    let mut vars: Vec<(String, String)> = env_lines
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vars.push(("PW".to_string(), format!("pw-{MARK}")));
    vars.push(("HOST".to_string(), "db.example.com".to_string()));
    let env = VarList(vars);

    let Ok(imported) = import("fuzz", &files, &env) else {
        return;
    };
    let secrets: Vec<&str> = imported
        .password
        .iter()
        .chain(imported.plugin_passwords.values())
        .map(|s| s.expose())
        .collect();
    // One way to a secret: `${PW}`, `$env` or `$file`, named once.
    let one_source = ["PW", "$env", "$file"]
        .iter()
        .map(|w| text.matches(w).count())
        .sum::<usize>()
        == 1
        && !text.contains(MARK)
        && !text.contains('*')
        && !text.contains("<<")
        && !text.contains("$include");
    if one_source && secrets.iter().any(|s| s.contains(MARK)) {
        let shown = [
            format!("{:?}", imported.profile),
            serde_json::to_string(&imported.profile).expect("the profile serialises"),
            serde_json::to_string(&imported.read).expect("the values read serialise"),
            imported.warnings.join("\n"),
            format!("{imported:?}"),
        ];
        for s in shown {
            assert!(!s.contains(MARK), "a password is shown: {s}");
        }
    }
});
