//! `llavero`: the one binary. Exit codes: 0 success, 1 a verification rejected, 2 usage or
//! I/O errors.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = llavero_server::cli::Cli::parse();
    match llavero_server::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", llavero_server::error_report::error_line(&e));
            ExitCode::from(2)
        }
    }
}
