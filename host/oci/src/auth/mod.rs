//! Registry credentials: where they come from, in order.
//!
//! 1. Basic credentials given on the command line or in the environment
//!    (`GATE_REGISTRY_USERNAME` / `GATE_REGISTRY_PASSWORD`).
//! 2. ACR Workload Identity, when `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`
//!    and `AZURE_TENANT_ID` are set and the registry is an ACR (`*.azurecr.io`, or
//!    listed in `GATE_ACR_REGISTRIES`): see [`acr`].
//! 3. `~/.docker/config.json` (or `$DOCKER_CONFIG/config.json`): `credHelpers`,
//!    then `auths`, then `credsStore`, as docker does: see [`docker_config`].
//! 4. Anonymous.
//!
//! Secrets are held in [`Secret`], which never prints its value.

pub mod acr;
pub mod docker_config;

use std::fmt;
use std::path::PathBuf;

/// A credential value that never appears in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What to present to one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Nothing.
    Anonymous,
    /// Username and password (the registry or its token service checks them).
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: Secret,
    },
    /// A registry refresh token (ACR), exchanged at `/oauth2/token` for each scope.
    RefreshToken(Secret),
}

/// Where credentials may come from.
#[derive(Debug, Clone, Default)]
pub struct AuthOptions {
    /// Basic credentials from flags or the environment, for every registry.
    pub basic: Option<(String, Secret)>,
    /// The docker config file (default: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// Extra registries to treat as ACR for Workload Identity (`GATE_ACR_REGISTRIES`).
    pub acr_registries: Vec<String>,
}

impl AuthOptions {
    /// Options from the environment: `GATE_REGISTRY_USERNAME`, `GATE_REGISTRY_PASSWORD`,
    /// `GATE_ACR_REGISTRIES` (comma-separated).
    pub fn from_env() -> AuthOptions {
        let basic = match (
            std::env::var("GATE_REGISTRY_USERNAME"),
            std::env::var("GATE_REGISTRY_PASSWORD"),
        ) {
            (Ok(user), Ok(pass)) if !user.is_empty() => Some((user, Secret::new(pass))),
            _ => None,
        };
        let acr_registries = std::env::var("GATE_ACR_REGISTRIES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        AuthOptions {
            basic,
            docker_config: None,
            acr_registries,
        }
    }

    /// Is this registry an Azure Container Registry?
    pub fn is_acr(&self, registry: &str) -> bool {
        let host = registry.split(':').next().unwrap_or(registry);
        [".azurecr.io", ".azurecr.cn", ".azurecr.us"]
            .iter()
            .any(|s| host.ends_with(s))
            || self.acr_registries.iter().any(|r| r == registry)
    }
}
