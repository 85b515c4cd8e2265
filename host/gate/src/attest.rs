//! The `--attest` options of `gate check`, `gate flux check` and `gate flux
//! serve`: read the signing key before the run, write the evaluation record
//! after it, through the attester every front door shares.

use anyhow::{Result, bail};
use clap::Args;
use gate_core::report::Report;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Options that make `gate check` (and `gate flux check`) write a signed
/// evaluation record.
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// Write a signed evaluation record of the run (an in-toto Statement in a DSSE
    /// envelope, predicate https://gate.dev/evaluation/v1) to this file.
    #[arg(long, value_name = "FILE")]
    pub attest: Option<PathBuf>,

    /// What signs it.
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// The key that signs evaluation records, shared by every command that makes
/// them (`gate flux serve` signs one per judged revision when given a key).
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// The key that signs records: a PEM file, or the PEM text itself. ECDSA
    /// P-256 in PKCS#8, or a cosign key (`cosign generate-key-pair`), whose password
    /// is read from GATE_ATTEST_KEY_PASSWORD or COSIGN_PASSWORD.
    #[arg(
        long,
        env = "GATE_ATTEST_KEY",
        value_name = "PEM",
        hide_env_values = true
    )]
    pub attest_key: Option<String>,

    /// Write records unsigned, for local use (`gate evidence verify` rejects them).
    #[arg(long)]
    pub attest_unsigned: bool,
}

/// A record to write after the run: where, and the shared attester that seals it.
#[derive(Debug)]
pub struct RecordTarget {
    path: PathBuf,
    attester: gate_evidence::Attester,
}

impl SigningArgs {
    /// The attester, if a key or `--attest-unsigned` was given. Reads and
    /// decrypts the key now, so that a bad key fails before any policy runs.
    pub fn attester(&self) -> Result<Option<gate_evidence::Attester>> {
        Ok(match (&self.attest_key, self.attest_unsigned) {
            (Some(_), true) => bail!(
                "--attest-unsigned and a signing key (--attest-key or GATE_ATTEST_KEY) are both given: choose one"
            ),
            (Some(value), false) => Some(gate_evidence::Attester::from_key(
                value,
                "--attest-key / GATE_ATTEST_KEY",
            )?),
            (None, true) => Some(gate_evidence::Attester::unsigned()),
            (None, false) => None,
        })
    }
}

impl AttestArgs {
    /// Where and how to write the record, if `--attest` was given.
    pub fn attester(&self) -> Result<Option<RecordTarget>> {
        let Some(path) = &self.attest else {
            return Ok(None);
        };
        let Some(attester) = self.signing.attester()? else {
            bail!(
                "--attest needs a signing key (--attest-key PEM or GATE_ATTEST_KEY), or --attest-unsigned"
            );
        };
        Ok(Some(RecordTarget {
            path: path.clone(),
            attester,
        }))
    }
}

impl RecordTarget {
    /// Writes the record of `report`, its subjects named relative to `roots`.
    pub fn write(&self, report: &Report, roots: &[PathBuf]) -> Result<()> {
        self.write_subjects(report, gate_evidence::subjects(&report.inputs, roots))
    }

    /// Writes the record of `report` about `subjects`.
    pub fn write_subjects(
        &self,
        report: &Report,
        subjects: Vec<gate_evidence::Subject>,
    ) -> Result<()> {
        self.attester.write(&self.path, report, subjects)?;
        Ok(())
    }
}

/// The Git commit of the repository holding the first input, when there is one:
/// the source revision a record names when `--revision` is not given.
pub fn git_revision(paths: &[PathBuf]) -> Option<String> {
    let first = paths.iter().find(|p| p.as_os_str() != "-")?;
    let dir = if first.is_dir() {
        first.as_path()
    } else {
        first
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    };
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let revision = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success()
        && revision.len() >= 40
        && revision.bytes().all(|b| b.is_ascii_hexdigit()))
    .then_some(revision)
}
