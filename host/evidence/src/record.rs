//! A record: the statement about one run, ready to seal in an envelope.

use crate::dsse::Envelope;
use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::predicate::Evaluation;
use crate::statement::{PREDICATE_TYPE, STATEMENT_TYPE, Statement, Subject, subjects};
use chrono::Utc;
use gate_core::report::Report;
use std::path::PathBuf;

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

/// The one call a front door makes after the engine's: the record of `report`,
/// its subjects named relative to `roots` (the paths the run was given; empty
/// for a stream), sealed with `key` or unsigned.
pub fn attest(report: &Report, roots: &[PathBuf], key: Option<&SigningKey>) -> Result<Envelope> {
    Record::new(report, subjects(&report.inputs, roots))?.seal(key)
}
