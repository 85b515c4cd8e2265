//! What can stop the plugin before it has a decision to report.

use std::path::PathBuf;

/// An engine error (bundle loading and module resolution report `anyhow` chains).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why `gate argocd generate` could not judge the app. Every one of them fails the
/// generation: the app is not synced, nothing is pruned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The platform's configuration file could not be read.
    #[error("cannot read the gate configuration {}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The platform's configuration file is not valid.
    #[error("gate configuration {}: {message}", path.display())]
    ConfigInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line or the field.
        message: String,
    },
    /// A variable Argo CD sets, or the app sets, is malformed.
    #[error("{variable}: {message}")]
    Environment {
        /// The variable.
        variable: String,
        /// What is wrong with it.
        message: String,
    },
    /// The app directory could not be rendered.
    #[error("cannot render the app")]
    Render(#[source] gate_engine::render::RenderError),
    /// The render could not be read from stdin.
    #[error("cannot read the render from stdin")]
    Stdin(#[source] std::io::Error),
    /// The policy runtime could not start.
    #[error("cannot start the policy runtime")]
    Runtime(#[source] Cause),
    /// The bundle could not be loaded: unreadable, a module missing, a registry
    /// outage without a cached pinned module, a signature refused.
    #[error("cannot load bundle {bundle:?} ({reference})")]
    Bundle {
        /// The bundle's name in the configuration.
        bundle: String,
        /// Its reference.
        reference: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// The signing key of evaluation records (`spec.attest`) could not be read.
    #[error("cannot read the signing key of evaluation records (spec.attest)")]
    AttestKey {
        /// Why.
        #[source]
        source: gate_evidence::Error,
    },
    /// The evaluation record could not be made or written: the render is not
    /// handed on, as a record is required whenever one is configured.
    #[error("no evaluation record could be written (spec.attest), so the render is not handed on")]
    Attest {
        /// Why, naming the file.
        #[source]
        source: gate_evidence::Error,
    },
    /// The approved render could not be written to stdout.
    #[error("cannot write the render to stdout")]
    Stdout(#[source] std::io::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The message and every cause under it, one per line: the text the
    /// Application condition shows.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let message = cause.to_string();
            // anyhow chains repeat nothing, but an io::Error wrapped twice can.
            if !text.ends_with(&message) {
                text.push_str(": ");
                text.push_str(&message);
            }
            source = cause.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_every_cause() {
        let error = Error::ConfigRead {
            path: PathBuf::from("/etc/gate/config.yaml"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(
            error.chain(),
            "cannot read the gate configuration /etc/gate/config.yaml: no such file"
        );
    }
}
