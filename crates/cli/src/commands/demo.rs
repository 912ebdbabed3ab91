//! `bsi demo`: a local PostgreSQL with TLS and SCRAM, our migrations, generated Backstage data,
//! a `demo` profile (password in the keyring), and the app opened on it. A second run reuses
//! everything that is there.

use std::path::{Path, PathBuf};

use clap::Args;

use bsi_core::connect::Connections;
use bsi_core::demo::cluster::{self, DEMO_USER};
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::demo::{FillOptions, FillProgress};
use bsi_core::migrate;
use bsi_core::profile::{Profile, ProfileStore};
use bsi_core::secrets::{Credentials, Keyring, PasswordSources, Secret};
use bsi_core::tls::SslMode;
use bsi_core::{CoreError, Result};

use crate::global::Global;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo's data folder (default: in the OS data folder; BSI_DEMO_DIR overrides).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Number of entities to generate on first run.
    #[arg(long, default_value_t = 300)]
    pub size: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Prepare everything but do not open the app.
    #[arg(long)]
    pub no_open: bool,
    /// Stop the demo's PostgreSQL and exit.
    #[arg(long)]
    pub stop: bool,
    /// Drop the demo's databases first and generate them afresh (with --size and --seed).
    #[arg(long, conflicts_with = "stop")]
    pub reset: bool,
}

pub const DEMO_PROFILE: &str = "demo";

/// Refuses `--reset` and `--stop` with connection options (a usage error, exit 2): they act on
/// the demo's own local server, never on the one the options name.
pub fn check_arguments(command: &mut clap::Command, matches: &clap::ArgMatches) {
    let Some(("demo", demo)) = matches.subcommand() else {
        return;
    };
    let action = if demo.get_flag("reset") {
        "--reset"
    } else if demo.get_flag("stop") {
        "--stop"
    } else {
        return;
    };
    let given: Vec<String> = ["url", "prefix", "profile", "app_config"]
        .into_iter()
        .filter(|id| {
            demo.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
                || matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        })
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect();
    if given.is_empty() {
        return;
    }
    command
        .error(
            clap::error::ErrorKind::ArgumentConflict,
            format!(
                "`bsi demo {action}` cannot be combined with {}: the demo has its own local \
                 PostgreSQL server, and {action} acts on that one only",
                given.join(", ")
            ),
        )
        .exit();
}

fn say(msg: &str) {
    errln!("==> {msg}");
}

pub async fn run(global: &Global, args: DemoArgs) -> Result<()> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => cluster::default_dir()?,
    };
    if args.stop {
        let stopped = tokio::task::spawn_blocking(move || cluster::stop(&dir))
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))??;
        outln!(
            "{}",
            if stopped {
                "The demo's PostgreSQL is stopped."
            } else {
                "The demo's PostgreSQL was not running."
            }
        );
        return Ok(());
    }
    let dir2 = dir.clone();
    let cl = tokio::task::spawn_blocking(move || cluster::ensure(&dir2, &|m| say(m)))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))??;

    let mut profile = Profile::new(DEMO_PROFILE, "localhost", DEMO_USER);
    profile.port = cl.port;
    profile.tls.sslmode = SslMode::VerifyFull;
    profile.tls.root_cert = Some(cl.ca.clone());
    profile.source = Some(format!("bsi demo ({})", dir.display()));

    let (password, keyring_ok) = password(&profile, cl.new_password, &dir).await?;
    ProfileStore::open_default()?.save(&profile)?;

    // Migrations and data, through a write-mode copy of the profile for this run only.
    let mut writer = profile.clone();
    writer.write_mode = true;
    let conns = Connections::new(writer, Some(password.clone()));
    let result = prepare(&conns, &args).await;
    conns.close().await;
    result?;

    if global.json {
        return crate::output::json(&serde_json::json!({
            "profile": DEMO_PROFILE, "port": cl.port, "dir": dir, "ca": cl.ca,
        }));
    }
    say(&format!(
        "the demo is ready: profile `{DEMO_PROFILE}` (localhost:{}, verify-full, read-only); try `bsi --profile {DEMO_PROFILE} databases`",
        cl.port
    ));
    if args.no_open {
        return Ok(());
    }
    open_app(if keyring_ok { None } else { Some(&password) })
}

/// The demo role's password: a new one goes into the OS keyring, a reused one is looked up as
/// every password is (PGPASSWORD, then the keyring). Also tells whether the keyring holds it.
async fn password(
    profile: &Profile,
    new_password: Option<Secret>,
    dir: &Path,
) -> Result<(Secret, bool)> {
    let keyring = Keyring::default();
    let mut keyring_ok = true;
    let password = match new_password {
        Some(pw) => {
            if let Err(e) = keyring
                .set_async(&profile.keyring_account(), pw.clone())
                .await
            {
                errln!("warning: {e}");
                keyring_ok = false;
            }
            pw
        }
        None => {
            // The one lookup order: PGPASSWORD, then the keyring.
            let env = |k: &str| std::env::var(k).ok();
            let from_env = PasswordSources::pg_password(&env).is_some_and(|p| !p.is_empty());
            let sources = PasswordSources {
                pg_password: PasswordSources::pg_password(&env),
                keyring: Some(profile.keyring_accounts()),
                ..PasswordSources::default()
            };
            let found = Credentials::resolve(sources, None).await;
            keyring_ok = !from_env && found.is_ok();
            match found {
                Ok(Credentials {
                    password: Some(pw), ..
                }) => pw,
                other => {
                    if let Err(e) = &other {
                        errln!("warning: {e}");
                    }
                    return Err(CoreError::config(format!(
                        "the demo's password is not in the OS keyring; remove the demo folder {} to start afresh, \
                         or give it with PGPASSWORD",
                        dir.display()
                    )));
                }
            }
        }
    };
    Ok((password, keyring_ok))
}

async fn prepare(conns: &Connections, args: &DemoArgs) -> Result<()> {
    if args.reset {
        let dropped = bsi_core::demo::drop_databases(conns).await?;
        say(&format!(
            "removed the demo's databases ({})",
            if dropped.is_empty() {
                "there were none".to_string()
            } else {
                dropped.join(", ")
            }
        ));
    }
    let mut opts = GenerateOptions::size(args.size);
    opts.seed = args.seed;
    // Generated "now" (to the minute), so that the demo has tasks that failed today and
    // sessions that are still active.
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        opts.epoch_us = (now.as_secs() / 60 * 60) as i64 * 1_000_000;
    }
    let fill_opts = FillOptions {
        areas: migrate::default_areas(),
        generate: opts,
        keep_existing: true,
    };
    let (size, seed) = (args.size, args.seed);
    let progress = move |step: FillProgress<'_>| match step {
        FillProgress::Migrated(done) if !done.is_empty() => {
            say(&format!("applied {} migrations", done.len()))
        }
        FillProgress::Migrated(_) => {}
        FillProgress::Kept(existing) => {
            say(&format!("reusing the demo data ({existing} entities)"))
        }
        FillProgress::Generating => say(&format!("generating {size} entities (seed {seed})")),
        FillProgress::Phase { phase, done, total } => {
            if done == total {
                errln!("    {phase}: {total}");
            }
        }
    };
    let filled = bsi_core::demo::fill(conns, &fill_opts, &progress).await?;
    if let Some(report) = filled.generated {
        say(&format!(
            "generated {} entities, {} relations, {} tasks, {} task events in {:.1} s",
            report.entities,
            report.relations,
            report.tasks,
            report.task_events,
            report.elapsed_ms as f64 / 1000.0
        ));
    }
    Ok(())
}

fn open_app(password: Option<&Secret>) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| CoreError::Internal(e.to_string()))?;
    let name = if cfg!(windows) {
        "backstage-inspector.exe"
    } else {
        "backstage-inspector"
    };
    let app = exe.with_file_name(name);
    if !app.is_file() {
        return Err(CoreError::config(format!(
            "the app is not built next to bsi ({}); build it with `cargo build` (scripts/run-demo does)",
            app.display()
        )));
    }
    say("opening the app");
    let mut cmd = std::process::Command::new(&app);
    cmd.args(["--profile", DEMO_PROFILE]);
    if let Some(pw) = password {
        // No keyring: the password reaches the app for this run only, never through a file.
        cmd.env("PGPASSWORD", pw.expose());
    }
    let status = cmd
        .status()
        .map_err(|e| CoreError::io("cannot start", app, e))?;
    if !status.success() {
        return Err(CoreError::Internal(format!("the app exited with {status}")));
    }
    Ok(())
}
