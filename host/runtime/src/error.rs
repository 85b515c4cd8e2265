use gate_core::report::ErrorKind;
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
    /// The caller's deadline for the whole render (an admission request's).
    Deadline,
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LimitKind::Time => "time limit",
            LimitKind::Fuel => "fuel limit",
            LimitKind::Memory => "memory limit",
            LimitKind::Stack => "stack limit",
            LimitKind::Output => "output size limit",
            LimitKind::Deadline => "request deadline",
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

    /// An object the policy was to read was slimmed by the loader without being
    /// encoded: a fault of the front door's, never a verdict.
    #[error("policy {policy}: the object it was to read was not kept by gate's loader")]
    NotKept {
        /// The policy.
        policy: String,
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
    /// What kind of failure this is, for reports and metrics.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Limit { limit, .. } => match limit {
                LimitKind::Time => ErrorKind::TimeLimit,
                LimitKind::Fuel => ErrorKind::FuelLimit,
                LimitKind::Memory => ErrorKind::MemoryLimit,
                LimitKind::Stack => ErrorKind::StackLimit,
                LimitKind::Output => ErrorKind::OutputLimit,
                LimitKind::Deadline => ErrorKind::Deadline,
            },
            // Trying to wait is stopped by a trap of the host's own.
            Error::Trap { .. } | Error::Blocked { .. } => ErrorKind::Trap,
            Error::Failed { .. } => ErrorKind::PolicyError,
            Error::Contract { .. } => ErrorKind::Contract,
            Error::Engine(_)
            | Error::Load { .. }
            | Error::NotKept { .. }
            | Error::Settings { .. }
            | Error::Cache { .. } => ErrorKind::Host,
        }
    }

    /// The policy the error is about, if any.
    pub fn policy(&self) -> Option<&str> {
        match self {
            Error::Load { policy, .. }
            | Error::NotKept { policy }
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
