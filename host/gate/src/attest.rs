//! The `--attest` options of `gate check`: read the signing key before the run,
//! write the evaluation record after it.

use anyhow::{Result, bail};
use clap::Args;
use gate_core::report::Report;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Options that make `gate check` write a signed evaluation record.
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// Write a signed evaluation record of the run (an in-toto Statement in a DSSE
    /// envelope, predicate https://gate.dev/evaluation/v1) to this file.
    #[arg(long, value_name = "FILE")]
    pub attest: Option<PathBuf>,

    /// The key that signs the record: a PEM file, or the PEM text itself. ECDSA
    /// P-256 in PKCS#8, or a cosign key (`cosign generate-key-pair`), whose password
    /// is read from GATE_ATTEST_KEY_PASSWORD or COSIGN_PASSWORD.
    #[arg(
        long,
        env = "GATE_ATTEST_KEY",
        value_name = "PEM",
        hide_env_values = true
    )]
    pub attest_key: Option<String>,

    /// Write the record unsigned, for local use (`gate evidence verify` rejects it).
    #[arg(long)]
    pub attest_unsigned: bool,
}

/// A record to write after the run: where, and the shared attester that seals it.
#[derive(Debug)]
pub struct RecordTarget {
    path: PathBuf,
    attester: gate_evidence::Attester,
}

/// The signing options of `gate flux serve`: it signs a record of every judged
/// revision when given a key, and stores it beside the artifacts.
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// Sign an evaluation record of every judged revision with this key (a PEM
    /// file, or the PEM text): ECDSA P-256 in PKCS#8, or a cosign key, whose
    /// password is read from GATE_ATTEST_KEY_PASSWORD or COSIGN_PASSWORD.
    #[arg(
        long,
        env = "GATE_ATTEST_KEY",
        value_name = "PEM",
        hide_env_values = true
    )]
    pub attest_key: Option<String>,

    /// Store unsigned records (for trying things out; `gate evidence verify` rejects them).
    #[arg(long, conflicts_with = "attest_key")]
    pub attest_unsigned: bool,
}

impl SigningArgs {
    /// The attester, if records are asked for; the key is read now.
    pub fn attester(&self) -> Result<Option<gate_evidence::Attester>> {
        Ok(match (&self.attest_key, self.attest_unsigned) {
            (Some(value), _) => Some(gate_evidence::Attester::from_key(
                value,
                "--attest-key / GATE_ATTEST_KEY",
            )?),
            (None, true) => Some(gate_evidence::Attester::unsigned()),
            (None, false) => None,
        })
    }
}

impl AttestArgs {
    /// The attester, if `--attest` was given. Reads and decrypts the key now, so
    /// that a bad key fails before any policy runs.
    pub fn attester(&self) -> Result<Option<RecordTarget>> {
        let Some(path) = &self.attest else {
            return Ok(None);
        };
        let attester = match (&self.attest_key, self.attest_unsigned) {
            (Some(_), true) => bail!(
                "--attest-unsigned and a signing key (--attest-key or GATE_ATTEST_KEY) are both given: choose one"
            ),
            (None, false) => bail!(
                "--attest needs a signing key (--attest-key PEM or GATE_ATTEST_KEY), or --attest-unsigned"
            ),
            (None, true) => gate_evidence::Attester::unsigned(),
            (Some(value), false) => {
                gate_evidence::Attester::from_key(value, "--attest-key / GATE_ATTEST_KEY")?
            }
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
