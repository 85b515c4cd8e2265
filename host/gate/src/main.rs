//! The `gate` command.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = gate::cli::Cli::parse();
    gate::init_logging(cli.default_log_level(), cli.logs_json());
    match cli.run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("gate: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
