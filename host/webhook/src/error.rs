//! Errors of the webhook server: what keeps it from starting or serving.
//! A request the webhook cannot judge is not an error here: it is an HTTP status
//! (see [`crate::router`]) or a denial (see [`crate::verdict`]).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors of gate-webhook.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A TLS file could not be read.
    #[error("cannot read the TLS {what} {path}")]
    TlsFile {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// A TLS file holds no usable PEM.
    #[error("TLS {what} {path}: {detail}")]
    TlsPem {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// rustls refused the certificate and key.
    #[error("TLS certificate {cert} and key {key} do not make a server configuration")]
    Tls {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        #[source]
        source: rustls::Error,
    },

    /// The listening socket could not be opened or served.
    #[error("cannot serve on {addr}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// A process-level facility (async runtime, signal handler, thread) failed to start.
    #[error("cannot start the {what}")]
    Start {
        /// What failed.
        what: &'static str,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// The policy runtime could not start.
    #[error("cannot start the policy runtime")]
    PolicyRuntime(#[source] gate_runtime::Error),

    /// A bundle could not be loaded and verified.
    #[error("bundle {bundle}: {detail}")]
    Bundle {
        /// The bundle reference.
        bundle: String,
        /// Why, with every cause (the engine reports a chain of context).
        detail: String,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
