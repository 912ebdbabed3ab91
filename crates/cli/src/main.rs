//! `bsi`: the Backstage Inspector command line. Thin: parses arguments, resolves the profile
//! and its password, calls the core, prints tables or JSON. Exit codes come from the core's
//! error codes (see the README).

mod cli;
mod commands;
mod context;
mod global;
mod output;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    bsi_core::logging::init_stderr();
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(cli::run(cli));
    match result {
        Ok(()) => {}
        Err(err) => {
            output::print_error(&err, json);
            std::process::exit(err.code().exit_code());
        }
    }
}
