//! `bsi`: the Backstage Inspector command line. Thin: parses arguments, resolves the profile
//! and its password, calls the core, prints tables or JSON. Exit codes come from the core's
//! error codes (see the README).

#[macro_use]
mod output;
mod cli;
mod commands;
mod context;
mod global;
mod signals;

use clap::{CommandFactory, FromArgMatches};

fn main() {
    let mut command = cli::Cli::command();
    let args = global::expand_app_config(
        std::env::args_os().collect(),
        &global::command_names(&command),
    );
    let matches = command
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| e.exit());
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.format(&mut command).exit(),
    };
    commands::demo::check_arguments(&mut command, &matches);
    bsi_core::logging::init_stderr();
    let json = cli.global.json;
    let global = cli.global.clone();
    report_panics(json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    // Debug builds only: a way for the tests to reach the panic report.
    #[cfg(debug_assertions)]
    if std::env::var_os("BSI_TEST_PANIC").is_some() {
        runtime
            .block_on(async { tokio::spawn(async { panic!("BSI_TEST_PANIC is set") }).await })
            .ok();
    }
    let result = runtime.block_on(context::watched(cli::run(cli)));
    match result {
        Ok(0) => {}
        Ok(code) => std::process::exit(code),
        Err(err) => {
            output::print_error(&err, json, |m| global.pasteable(m));
            std::process::exit(err.code().exit_code());
        }
    }
}

/// A panic is a bug: it is reported as an internal error (exit code 1, the README's), in the
/// run's output format, instead of Rust's panic message and exit code 101.
fn report_panics(json: bool) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let err = bsi_core::CoreError::Internal(format!(
            "{what}{place}. This is a bug in bsi; please report it with the command line and \
             the output of `bsi --version`"
        ));
        output::print_error(&err, json, |m| m.to_string());
        std::process::exit(err.code().exit_code());
    }));
}
