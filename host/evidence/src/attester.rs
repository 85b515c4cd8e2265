//! The one signer every front door holds: `gate check --attest`, the Argo CD
//! plugin's `attest` section and the Flux controller read their key through
//! [`Attester::from_key`] and seal their records with [`Attester::seal`], so a
//! record means the same whichever door made it.

use crate::dsse::Envelope;
use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::record::Record;
use crate::statement::Subject;
use gate_core::report::Report;
use std::io::Write;
use std::path::Path;

/// Where the password of an encrypted (cosign) key comes from, in this order.
pub const PASSWORD_VARIABLES: [&str; 2] = ["GATE_ATTEST_KEY_PASSWORD", "COSIGN_PASSWORD"];

/// Seals evaluation records: signed with a key, or unsigned when that was asked
/// for explicitly (there is no implicit unsigned mode).
#[derive(Debug)]
pub struct Attester {
    key: Option<SigningKey>,
}

impl Attester {
    /// Signs every record with `key`.
    pub fn signed(key: SigningKey) -> Attester {
        Attester { key: Some(key) }
    }

    /// Leaves records unsigned (`gate evidence verify` rejects them): for local use.
    pub fn unsigned() -> Attester {
        Attester { key: None }
    }

    /// Reads the signing key given as PEM text or as the path of a PEM file;
    /// `origin` names where the value came from in errors (a flag, a variable,
    /// a configuration field). An encrypted cosign key's password is read from
    /// [`PASSWORD_VARIABLES`].
    pub fn from_key(value: &str, origin: &str) -> Result<Attester> {
        let (name, text) = if value.trim_start().starts_with("-----BEGIN") {
            (format!("the PEM given as {origin}"), value.to_owned())
        } else {
            let text =
                std::fs::read_to_string(value).map_err(Error::io("read the signing key", value))?;
            (value.to_owned(), text)
        };
        let password = PASSWORD_VARIABLES
            .iter()
            .find_map(|v| std::env::var(v).ok())
            .unwrap_or_default();
        Ok(Attester::signed(SigningKey::from_pem(
            &name,
            &text,
            password.as_bytes(),
        )?))
    }

    /// Whether records are signed.
    pub fn is_signed(&self) -> bool {
        self.key.is_some()
    }

    /// The record of `report` about `subjects`, in a DSSE envelope.
    pub fn seal(&self, report: &Report, subjects: Vec<Subject>) -> Result<Envelope> {
        Record::new(report, subjects)?.seal(self.key.as_ref())
    }

    /// Seals the record and writes it to `path`, returning its bytes. The file
    /// appears whole or not at all (written beside it, then renamed): a reader
    /// never takes half a record for one.
    pub fn write(&self, path: &Path, report: &Report, subjects: Vec<Subject>) -> Result<Vec<u8>> {
        let bytes = self.seal(report, subjects)?.to_json()?.into_bytes();
        write_atomically(path, &bytes)?;
        Ok(bytes)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(Error::io("write the record", path));
    let renamed = written
        .and_then(|()| std::fs::rename(&temp, path).map_err(Error::io("write the record", path)));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate_core::report::Findings;

    fn report() -> Report {
        let mut report = Report::new("b".into(), Vec::new(), Findings::default());
        report.inputs = vec![gate_core::report::InputDigest {
            path: "a.yaml".into(),
            digest: format!("sha256:{}", "0f".repeat(32)),
        }];
        report
    }

    #[test]
    fn a_record_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("r.json");
        let subjects = vec![Subject::sha256("a.yaml", &"0f".repeat(32))];
        let bytes = Attester::unsigned()
            .write(&path, &report(), subjects.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&path).ok(), Some(bytes));
        // A directory that does not exist: an error naming the file, and no stray temp file.
        let missing = dir.path().join("nope/r.json");
        let err = Attester::unsigned().write(&missing, &report(), subjects);
        assert!(
            matches!(&err, Err(Error::Io { path, .. }) if path == &missing),
            "{err:?}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_key_that_is_neither_pem_nor_a_file_is_named() {
        let err = Attester::from_key("/no/such/key.pem", "--attest-key")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/no/such/key.pem"), "{err}");
        let err = Attester::from_key("-----BEGIN NONSENSE-----\n", "GATE_ATTEST_KEY")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("GATE_ATTEST_KEY"), "{err}");
    }
}
