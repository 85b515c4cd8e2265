//! The `--attest` options of `gate check`: read the signing key before the run,
//! write the evaluation record after it.

use anyhow::{Context, Result, bail};
use clap::Args;
use gate_core::report::Report;
use gate_evidence::SigningKey;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the password of an encrypted (cosign) key comes from, in this order.
const PASSWORD_VARIABLES: [&str; 2] = ["GATE_ATTEST_KEY_PASSWORD", "COSIGN_PASSWORD"];

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

/// A record to write after the run.
#[derive(Debug)]
pub struct Attester {
    path: PathBuf,
    key: Option<SigningKey>,
}

impl AttestArgs {
    /// The attester, if `--attest` was given. Reads and decrypts the key now, so
    /// that a bad key fails before any policy runs.
    pub fn attester(&self) -> Result<Option<Attester>> {
        let Some(path) = &self.attest else {
            return Ok(None);
        };
        let key = match (&self.attest_key, self.attest_unsigned) {
            (Some(_), true) => bail!(
                "--attest-unsigned and a signing key (--attest-key or GATE_ATTEST_KEY) are both given: choose one"
            ),
            (None, false) => bail!(
                "--attest needs a signing key (--attest-key PEM or GATE_ATTEST_KEY), or --attest-unsigned"
            ),
            (None, true) => None,
            (Some(value), false) => Some(read_signing_key(value)?),
        };
        Ok(Some(Attester {
            path: path.clone(),
            key,
        }))
    }
}

impl Attester {
    /// Writes the record of `report`, its subjects named relative to `roots`.
    pub fn write(&self, report: &Report, roots: &[PathBuf]) -> Result<()> {
        let envelope = gate_evidence::attest(report, roots, self.key.as_ref())?;
        std::fs::write(&self.path, envelope.to_json()?)
            .with_context(|| format!("cannot write the record {}", self.path.display()))
    }
}

/// Reads a signing key given as a path or as PEM text.
pub fn read_signing_key(value: &str) -> Result<SigningKey> {
    let (name, text) = if value.trim_start().starts_with("-----BEGIN") {
        (
            "the PEM given as --attest-key / GATE_ATTEST_KEY".to_owned(),
            value.to_owned(),
        )
    } else {
        let text = std::fs::read_to_string(value)
            .with_context(|| format!("cannot read the signing key {value}"))?;
        (value.to_owned(), text)
    };
    let password = PASSWORD_VARIABLES
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .unwrap_or_default();
    Ok(SigningKey::from_pem(&name, &text, password.as_bytes())?)
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
