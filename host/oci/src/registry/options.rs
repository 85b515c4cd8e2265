//! How to reach registries: plain HTTP, extra CAs, credentials, retries, timeouts.

use crate::auth::AuthOptions;
use crate::retry::RetryPolicy;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries (`host:port`) spoken to over plain HTTP (`GATE_PLAIN_HTTP`).
    pub plain_http: Vec<String>,
    /// Extra trusted CA certificates, PEM (`GATE_REGISTRY_CA_FILE`).
    pub ca_files: Vec<PathBuf>,
    /// Where credentials come from.
    pub auth: AuthOptions,
    /// Retries.
    pub retry: RetryPolicy,
    /// How long to wait for any answer (connect, or the next bytes of a body).
    pub timeout: Duration,
    /// How long one pull may take in all (manifest, signatures, blobs), however
    /// steadily a slow registry trickles bytes.
    pub deadline: Duration,
    /// Show progress of long downloads on stderr.
    pub progress: bool,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: Vec::new(),
            ca_files: Vec::new(),
            auth: AuthOptions::default(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(300),
            progress: false,
        }
    }
}

impl RegistryOptions {
    /// Options from the environment: `GATE_PLAIN_HTTP` (comma-separated registries),
    /// `GATE_REGISTRY_CA_FILE`, `GATE_REGISTRY_TIMEOUT_SECS`, `GATE_REGISTRY_DEADLINE_SECS`,
    /// `GATE_REGISTRY_ATTEMPTS`,
    /// and [`AuthOptions::from_env`].
    pub fn from_env() -> RegistryOptions {
        let mut options = RegistryOptions {
            plain_http: env_list("GATE_PLAIN_HTTP"),
            ca_files: env_list("GATE_REGISTRY_CA_FILE")
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            auth: AuthOptions::from_env(),
            ..RegistryOptions::default()
        };
        if let Some(secs) = std::env::var("GATE_REGISTRY_TIMEOUT_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            options.timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = std::env::var("GATE_REGISTRY_DEADLINE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            options.deadline = Duration::from_secs(secs);
        }
        if let Some(n) = std::env::var("GATE_REGISTRY_ATTEMPTS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            options.retry.attempts = n;
        }
        options
    }
}

/// A comma-separated list from the environment (empty items dropped).
pub(crate) fn env_list(name: &str) -> Vec<String> {
    std::env::var(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
