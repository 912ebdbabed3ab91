// Shared by the build scripts of `bsi` and the app (`include!`d): sets BSI_BUILD_COMMIT and
// BSI_BUILD_DATE so that both binaries say which source they were built from and when.

/// Emits `BSI_BUILD_COMMIT` (env `BSI_BUILD_COMMIT`, else `git rev-parse --short=10 HEAD`, else
/// "unknown") and `BSI_BUILD_DATE` (YYYY-MM-DD of `SOURCE_DATE_EPOCH`, else today in UTC).
fn emit_build_info() {
    println!("cargo:rerun-if-env-changed=BSI_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git").args(args).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!text.is_empty()).then_some(text)
    };
    // A new commit changes HEAD or the branch it names (in a worktree, the branch lives in the
    // common git folder, which `--git-path` resolves); packed refs move to `packed-refs`.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in &watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", name])
            && std::path::Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("BSI_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=10", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    println!("cargo:rustc-env=BSI_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=BSI_BUILD_DATE={}", civil_date(seconds));
}

/// The UTC calendar date of Unix time `seconds` as YYYY-MM-DD (Howard Hinnant's algorithm).
fn civil_date(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
