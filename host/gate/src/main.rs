//! The `gate` command.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    gate::init_logging();
    let cli = gate::cli::Cli::parse();
    match cli.run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("gate: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
