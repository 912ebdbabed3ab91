//! `bsi completions SHELL` and `bsi man`: generated from the command line's own definition,
//! without any profile or database.

use bsi_core::{CoreError, Result};

use crate::output;

/// Writes the completion script of `command` (the whole `bsi`) for `shell` on standard output.
pub fn completions(shell: clap_complete::Shell, mut command: clap::Command) -> Result<i32> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "bsi", &mut out);
    write_stdout(&out)
}

/// Writes the manual page (roff) of `command` on standard output.
pub fn man(command: clap::Command) -> Result<i32> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .map_err(|e| CoreError::Internal(format!("cannot render the manual page: {e}")))?;
    write_stdout(&out)
}

/// Generated text as it is; a reader that stops reading ends the run quietly.
fn write_stdout(bytes: &[u8]) -> Result<i32> {
    output::write_out(&String::from_utf8_lossy(bytes), false);
    Ok(0)
}
