//! Errors of evidence: reading keys and records, signing, verifying.

/// What went wrong. A signature that does not verify is not an error: it is an
/// outcome ([`crate::Verification`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key file could not be read or decoded.
    #[error("key {source_name}: {detail}")]
    Key {
        /// The file, or `GATE_ATTEST_KEY`.
        source_name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// An encrypted (cosign) key could not be decrypted.
    #[error("key {source_name}: cannot decrypt: {detail}")]
    Decrypt {
        /// The file, or `GATE_ATTEST_KEY`.
        source_name: String,
        /// Why.
        detail: String,
    },
    /// A record is not a DSSE envelope holding a gate evaluation statement.
    #[error("record {name}: {detail}")]
    Record {
        /// The record file.
        name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// There is nothing to attest: no input was read.
    #[error("nothing to attest: no manifest input was read, so a record would name no subject")]
    NoSubjects,
    /// A file or directory could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A directory holds more files than a render's inputs may.
    #[error("{}: more than {limit} files: not an application directory", dir.display())]
    TooManyFiles {
        /// The directory.
        dir: std::path::PathBuf,
        /// The limit.
        limit: usize,
    },
    /// Serialising a statement failed.
    #[error("cannot serialise the statement")]
    Serialize(#[source] serde_json::Error),
    /// A framework catalogue shipped with gate is malformed (a build defect).
    #[error("framework catalogue {name}")]
    Catalogue {
        /// The catalogue.
        name: &'static str,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What an I/O failure of `action` on `path` becomes: for `map_err`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<std::path::PathBuf>,
    ) -> impl Fn(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path: path.clone(),
            source,
        }
    }
}
