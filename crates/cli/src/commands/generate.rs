//! `bsi completions SHELL` and `bsi man`: generated from the command line's own definition,
//! without any profile or database.

use std::io::Write;

use bsi_core::{CoreError, Result};
use clap::CommandFactory;

use crate::cli::Cli;

/// Writes the completion script for `shell` on standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "bsi", &mut out);
    write_stdout(&out)
}

/// Writes the manual page (roff) on standard output.
pub fn man() -> Result<i32> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| CoreError::Internal(format!("cannot render the manual page: {e}")))?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<i32> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| CoreError::io("write to", "standard output", e))?;
    Ok(0)
}
