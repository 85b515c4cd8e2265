use std::path::PathBuf;

/// Errors of gate-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A manifest is not valid YAML or JSON.
    #[error("{file}:{line}:{column}: invalid {format}: {message}")]
    ManifestSyntax {
        /// The file (or `<stdin>`).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The parser's message.
        message: String,
    },

    /// A manifest document that Kubernetes would not apply as written (a malformed
    /// list, an object without apiVersion).
    #[error("{file}:{line}: {message}")]
    ManifestObject {
        /// The file (or `<stdin>`).
        file: String,
        /// 1-based line of the document.
        line: usize,
        /// What is wrong.
        message: String,
    },

    /// A bundle file could not be parsed or is inconsistent.
    #[error("bundle {file}: {message}")]
    Bundle {
        /// The bundle file.
        file: PathBuf,
        /// What is wrong, with the field.
        message: String,
    },

    /// An exception's expiry date cannot be read.
    #[error("exception {name:?}: invalid expiry {value:?}: expected YYYY-MM-DD or RFC 3339")]
    ExceptionExpiry {
        /// The exception's name.
        name: String,
        /// The text given.
        value: String,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
