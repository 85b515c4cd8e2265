//! A record: the statement about one run, ready to seal in an envelope.

use crate::dsse::Envelope;
use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::predicate::Evaluation;
use crate::statement::{PREDICATE_TYPE, STATEMENT_TYPE, Statement, Subject};
use chrono::Utc;
use gate_core::report::Report;

/// The evaluation record of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    statement: Statement,
}

impl Record {
    /// The record of a report about `subjects` (see [`crate::subjects`]). The
    /// revision, front door and time come from the report. Fails when there is
    /// no subject: a record must say what it is about.
    pub fn new(report: &Report, subjects: Vec<Subject>) -> Result<Record> {
        if subjects.is_empty() {
            return Err(Error::NoSubjects);
        }
        Ok(Record {
            statement: Statement {
                statement_type: STATEMENT_TYPE.to_owned(),
                subject: subjects,
                predicate_type: PREDICATE_TYPE.to_owned(),
                predicate: Evaluation::from_report(report, Utc::now()),
            },
        })
    }

    /// The statement.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The record in a DSSE envelope, signed with `key`, or unsigned without one.
    pub fn seal(&self, key: Option<&SigningKey>) -> Result<Envelope> {
        let payload = serde_json::to_vec(&self.statement).map_err(Error::Serialize)?;
        Ok(Envelope::seal(&payload, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsse::Verification;
    use crate::keys::VerifyingKey;
    use crate::statement::subjects;
    use gate_core::report::Findings;
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    use std::path::PathBuf;

    /// A fixed key: tests must not depend on a random source.
    fn key() -> (SigningKey, VerifyingKey) {
        let secret =
            p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap_or_else(|e| panic!("{e}"));
        let signing = SigningKey::from_pem("test", &pem, b"").unwrap_or_else(|e| panic!("{e}"));
        let public = signing.public_key_pem().unwrap_or_else(|e| panic!("{e}"));
        let verifying =
            VerifyingKey::from_pem("test.pub", &public).unwrap_or_else(|e| panic!("{e}"));
        (signing, verifying)
    }

    fn report() -> Report {
        let mut report = Report::new("b".into(), Vec::new(), Findings::default());
        report.inputs = vec![gate_core::report::InputDigest {
            path: "dir/a.yaml".into(),
            digest: format!("sha256:{}", "0f".repeat(32)),
        }];
        report
    }

    #[test]
    fn a_sealed_record_round_trips_and_verifies() {
        let (signing, verifying) = key();
        assert_eq!(signing.keyid(), verifying.keyid());
        let subjects = subjects(&report().inputs, &[PathBuf::from("dir")]);
        let envelope = crate::Attester::signed(signing)
            .seal(&report(), subjects)
            .unwrap_or_else(|e| panic!("{e}"));
        let text = envelope.to_json().unwrap_or_else(|e| panic!("{e}"));
        let parsed = Envelope::parse("r", text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let statement = parsed.statement("r").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(statement.subject[0].name, "a.yaml");
        assert_eq!(
            parsed.verify("r", &verifying).ok(),
            Some(Verification::Verified {
                keyid: verifying.keyid().to_owned()
            })
        );
    }

    #[test]
    fn a_changed_payload_or_no_signature_does_not_verify() {
        let (signing, verifying) = key();
        let record = Record::new(&report(), subjects(&report().inputs, &[]))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut envelope = record
            .seal(Some(&signing))
            .unwrap_or_else(|e| panic!("{e}"));
        let unsigned = record.seal(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            unsigned.verify("r", &verifying).ok(),
            Some(Verification::Unsigned)
        );
        envelope.payload = unsigned.payload.replace('A', "B");
        assert!(matches!(
            envelope.verify("r", &verifying),
            Ok(Verification::BadSignature { signatures: 1 })
        ));
    }

    #[test]
    fn a_record_needs_a_subject() {
        assert!(matches!(
            Record::new(&report(), Vec::new()),
            Err(Error::NoSubjects)
        ));
    }

    #[test]
    fn reads_the_key_cosign_wrote() {
        let pem = include_str!("../../../integration/fixtures/evidence/cosign-empty-password.key");
        let key = SigningKey::from_pem("cosign.key", pem, b"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.keyid().len(), 64);
        let wrong = SigningKey::from_pem("cosign.key", pem, b"not-empty");
        assert!(matches!(wrong, Err(Error::Decrypt { .. })));
    }
}
