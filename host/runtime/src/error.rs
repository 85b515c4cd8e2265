use std::path::PathBuf;

/// The limit a policy hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Wall-clock time.
    Time,
    /// Fuel (instructions).
    Fuel,
    /// Linear memory.
    Memory,
    /// The WebAssembly call stack.
    Stack,
    /// The size of what one call returns, as the host lifts it.
    Output,
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LimitKind::Time => "time limit",
            LimitKind::Fuel => "fuel limit",
            LimitKind::Memory => "memory limit",
            LimitKind::Stack => "stack limit",
            LimitKind::Output => "output size limit",
        })
    }
}

/// Errors of the policy host.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine could not be configured.
    #[error("cannot configure the WebAssembly engine")]
    Engine(#[source] wasmtime::Error),

    /// A component failed to compile or does not implement the contract.
    #[error("policy {policy}: cannot load the component: {detail}")]
    Load {
        /// The policy (its module reference).
        policy: String,
        /// Why, including the source's message.
        detail: String,
    },

    /// The policy hit a hard limit.
    #[error("policy {policy}: exceeded its {limit} ({detail})")]
    Limit {
        /// The policy.
        policy: String,
        /// Which limit.
        limit: LimitKind,
        /// The limit's value.
        detail: String,
    },

    /// The policy tried to wait (for a clock or for I/O), which policies may not do.
    #[error("policy {policy}: tried to block in {call}; policies may not wait for time or I/O")]
    Blocked {
        /// The policy.
        policy: String,
        /// The WASI call it made.
        call: &'static str,
    },

    /// The policy trapped (a panic, `unreachable`, an out-of-bounds access ...).
    #[error("policy {policy}: trapped: {detail}")]
    Trap {
        /// The policy.
        policy: String,
        /// The trap and whatever the policy wrote to stderr (e.g. its panic message).
        detail: String,
    },

    /// The policy returned an error instead of verdicts.
    #[error("policy {policy}: failed: {message}")]
    Failed {
        /// The policy.
        policy: String,
        /// Its message.
        message: String,
    },

    /// The policy broke the contract (wrong number of verdicts, bad metadata ...).
    #[error("policy {policy}: broke the gate:policy contract: {detail}")]
    Contract {
        /// The policy.
        policy: String,
        /// How.
        detail: String,
    },

    /// The settings of a policy were rejected at load.
    #[error("policy {policy}: invalid settings: {}", .problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Settings {
        /// The policy.
        policy: String,
        /// Each problem, with its field.
        problems: Vec<crate::policy::SettingsProblem>,
    },

    /// The cache directory could not be used.
    #[error("component cache {path}: {what}")]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        what: &'static str,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The policy the error is about, if any.
    pub fn policy(&self) -> Option<&str> {
        match self {
            Error::Load { policy, .. }
            | Error::Limit { policy, .. }
            | Error::Blocked { policy, .. }
            | Error::Trap { policy, .. }
            | Error::Failed { policy, .. }
            | Error::Contract { policy, .. }
            | Error::Settings { policy, .. } => Some(policy),
            Error::Engine(_) | Error::Cache { .. } => None,
        }
    }
}
