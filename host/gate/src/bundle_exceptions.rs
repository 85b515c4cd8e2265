//! `gate bundle exceptions`: every exception of a bundle with its expiry, for a
//! scheduled CI job. Exit 1 when one has expired.

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use gate_engine::loader::BundleRef;
use gate_evidence::exceptions::{self, Expiry};
use std::fmt::Write as _;
use std::process::ExitCode;

/// `gate bundle exceptions`.
#[derive(Debug, Args)]
pub struct ExceptionsArgs {
    /// The bundle: a bundle file, or `builtin:NAME`.
    pub bundle: BundleRef,

    /// Flag exceptions that expire within this many days.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub within: u32,

    /// Judge expiry as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<DateTime<Utc>>,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ExceptionsFormat::Text)]
    pub format: ExceptionsFormat,
}

/// How `gate bundle exceptions` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExceptionsFormat {
    /// A table for a person.
    Text,
    /// A JSON array.
    Json,
}

impl ExceptionsArgs {
    /// Lists the exceptions; exit 1 when one has expired.
    pub fn run(self) -> Result<ExitCode> {
        let (bundle, _) = self.bundle.read()?;
        let now = self.now.unwrap_or_else(Utc::now);
        let rows = exceptions::list(&bundle, now, i64::from(self.within));
        let expired = rows
            .iter()
            .filter(|r| matches!(r.expiry, Expiry::Expired { .. }))
            .count();
        let soon = rows
            .iter()
            .filter(|r| matches!(r.expiry, Expiry::ExpiresSoon { .. }))
            .count();
        let text = match self.format {
            ExceptionsFormat::Json => format!("{}\n", serde_json::to_string_pretty(&rows)?),
            ExceptionsFormat::Text => {
                let mut out = String::new();
                for r in &rows {
                    let status = match r.expiry {
                        Expiry::Expired { days } => format!("EXPIRED {days}d ago"),
                        Expiry::ExpiresSoon { days } => format!("EXPIRES in {days}d"),
                        Expiry::Live { days } => format!("live, {days}d left"),
                        Expiry::Invalid => "INVALID expiry".to_owned(),
                    };
                    let _ = writeln!(
                        out,
                        "{status:<18} {} / {}\n    expires {}; scope: {}; reason: {}",
                        r.policy, r.name, r.expires, r.scope, r.reason
                    );
                }
                let _ = writeln!(
                    out,
                    "{}: {} exception(s) as of {}: {expired} expired, {soon} expiring within {} days, {} live",
                    self.bundle,
                    rows.len(),
                    now.to_rfc3339(),
                    self.within,
                    rows.len() - expired - soon
                );
                out
            }
        };
        print!("{text}");
        Ok(if expired > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}
