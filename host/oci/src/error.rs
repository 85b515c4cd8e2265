//! The one error type of gate-oci.

use std::path::PathBuf;

/// Why an OCI operation failed. Every variant names what it was working on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reference that cannot be parsed or is not pinned where it must be.
    #[error("{reference}: {message}")]
    Reference {
        /// The reference as written.
        reference: String,
        /// What is wrong with it.
        message: String,
    },
    /// The registry could not be reached or answered with an error, after retries.
    #[error("{reference}: {operation} failed: {message}")]
    Registry {
        /// What was asked for.
        reference: String,
        /// The operation (pull manifest, push blob, ...).
        operation: &'static str,
        /// The registry's answer or the transport error, never a credential.
        message: String,
    },
    /// Content whose sha256 is not the one asked for.
    #[error("{reference}: {what} digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Where the content came from.
        reference: String,
        /// Manifest, blob, layer ...
        what: String,
        /// The digest that was asked for.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// A manifest or artifact that is not a gate policy (or not a valid manifest).
    #[error("{reference}: {message}")]
    Artifact {
        /// The artifact.
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// Offline, and the store does not have it.
    #[error(
        "{reference}: not in the local store {store} (offline: pull it first, or `gate bundle load` a saved bundle)"
    )]
    NotInStore {
        /// What was asked for.
        reference: String,
        /// The store directory.
        store: PathBuf,
    },
    /// A pull that did not finish within its deadline (however slowly bytes came).
    #[error(
        "{reference}: gave up after {seconds} s: the pull did not finish within its deadline (GATE_REGISTRY_DEADLINE_SECS)"
    )]
    Deadline {
        /// What was being pulled.
        reference: String,
        /// The deadline.
        seconds: u64,
    },
    /// Registry credentials could not be found or exchanged.
    #[error("registry {registry}: authentication failed: {message}")]
    Auth {
        /// The registry host.
        registry: String,
        /// Why, without any secret.
        message: String,
    },
    /// Signature verification refused the artifact: nothing of it runs.
    #[error("{reference}: refused: {reason}")]
    Refused {
        /// The artifact that was refused.
        reference: String,
        /// Why.
        reason: String,
    },
    /// A trust policy that is malformed or cannot be applied.
    #[error("trust policy {source_name}: {message}")]
    TrustPolicy {
        /// Where the trust policy came from.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A key or certificate that cannot be read.
    #[error("{path}: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An OCI image layout (store or tarball) that is malformed.
    #[error("OCI layout {path}: {message}")]
    Layout {
        /// The layout directory or tarball.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Results of gate-oci.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on a file.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// A refusal of `reference` for `reason`.
    pub(crate) fn refused(reference: impl ToString, reason: impl Into<String>) -> Error {
        Error::Refused {
            reference: reference.to_string(),
            reason: reason.into(),
        }
    }
}
