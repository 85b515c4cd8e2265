//! What can go wrong between a source revision and a published artifact.

use std::path::PathBuf;

/// The result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the Flux front door can fail at. A denial is not an error: it is a
/// report whose decision is `deny`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A digest is not `sha256:<64 lowercase hex>`.
    #[error(
        "digest {digest:?} is not of the form sha256:<64 hex digits> (the only algorithm gate verifies)"
    )]
    DigestFormat {
        /// The digest as given.
        digest: String,
    },
    /// An artifact URL cannot be used.
    #[error("artifact URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client")]
    Client {
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The download failed on the way.
    #[error("download of {url} failed")]
    Download {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("download of {url} failed: HTTP {status}")]
    DownloadStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The artifact is larger than allowed.
    #[error("download of {url} stopped: the artifact is larger than {limit} bytes")]
    DownloadTooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The bytes downloaded are not the bytes the source published.
    #[error(
        "digest mismatch for {url}: the source publishes {expected}, the bytes served are {actual}"
    )]
    DigestMismatch {
        /// The URL.
        url: String,
        /// `status.artifact.digest`.
        expected: String,
        /// The digest of what was downloaded.
        actual: String,
    },
    /// The archive holds an entry gate refuses to extract.
    #[error("unsafe archive: entry {entry:?} {reason}")]
    UnsafeArchive {
        /// The entry's name as stored.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The archive is larger than the extraction limits.
    #[error("archive over limit: {what} exceeds {limit}")]
    ArchiveLimit {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The archive is not a readable tar.gz.
    #[error("archive is not a readable tar.gz")]
    ArchiveFormat {
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The path to render is not a directory inside the artifact.
    #[error("path {path:?}: {reason}")]
    RenderPath {
        /// The path as given.
        path: String,
        /// Why it cannot be rendered.
        reason: String,
    },
    /// The renderer failed.
    #[error("render of {path:?} failed: {message}")]
    Render {
        /// The path rendered, relative to the artifact.
        path: String,
        /// The renderer's error, with paths relative to the artifact.
        message: String,
    },
    /// A bundle could not be loaded.
    #[error("bundle {bundle}: {message}")]
    Bundle {
        /// The bundle reference.
        bundle: String,
        /// The loader's message, with its causes.
        message: String,
    },
    /// The controller's configuration is not valid.
    #[error("configuration {}: {message}", file.display())]
    Config {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The platform does not let this namespace use gate, or this bundle.
    #[error("{0}")]
    NotAllowed(String),
    /// A source has no artifact to judge.
    #[error("{kind} {namespace}/{name} has no artifact yet")]
    SourceNotReady {
        /// The source kind.
        kind: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A call to the Kubernetes API failed.
    #[error("cannot {action}")]
    Kube {
        /// What was being done.
        action: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// An object read from the API does not have the shape its CRD defines.
    #[error("{object}: {message}")]
    Shape {
        /// The object.
        object: String,
        /// What is wrong.
        message: String,
    },
    /// The evaluation record could not be made: the files judged could not be
    /// digested, or the record not sealed.
    #[error("evaluation record: {0}")]
    Record(#[source] gate_evidence::Error),
    /// A blocking task did not complete.
    #[error("internal task failed: {0}")]
    Task(String),
}

impl Error {
    /// An [`Error::Io`] for `action` on `path`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// True when the archive itself is bad (wrong digest, unsafe or unreadable), as
    /// opposed to gate failing around it.
    pub fn is_bad_artifact(&self) -> bool {
        matches!(
            self,
            Error::DigestMismatch { .. }
                | Error::UnsafeArchive { .. }
                | Error::ArchiveLimit { .. }
                | Error::ArchiveFormat { .. }
                | Error::DownloadTooLarge { .. }
        )
    }
}
