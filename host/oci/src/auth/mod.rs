//! Registry credentials: where they come from, in order.
//!
//! 1. Basic credentials given on the command line or in the environment
//!    (`GATE_REGISTRY_USERNAME` / `GATE_REGISTRY_PASSWORD`), for the one registry
//!    they were given for ([`BasicCredentials::registry`]) and no other.
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

/// Basic credentials from flags or the environment, and the registry they are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The one registry (`host[:port]`) that gets them.
    pub registry: String,
    /// The user.
    pub username: String,
    /// The password.
    pub password: Secret,
}

/// Where credentials may come from.
#[derive(Debug, Clone, Default)]
pub struct AuthOptions {
    /// Basic credentials from flags or the environment, for one registry.
    pub basic: Option<BasicCredentials>,
    /// The docker config file (default: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// Extra registries to treat as ACR for Workload Identity (`GATE_ACR_REGISTRIES`).
    pub acr_registries: Vec<String>,
}

impl AuthOptions {
    /// Options from the environment: `GATE_ACR_REGISTRIES` (comma-separated).
    /// Basic credentials are not read here: they need the registry they are for,
    /// which only the command knows (see gate-engine's `RegistryArgs`).
    pub fn from_env() -> AuthOptions {
        let acr_registries = crate::registry::env_list("GATE_ACR_REGISTRIES");
        AuthOptions {
            basic: None,
            docker_config: None,
            acr_registries,
        }
    }

    /// Is this registry an Azure Container Registry? Workload Identity sends Azure
    /// AD tokens to it, so the decision is made on the host a URL parser reads out of
    /// `https://REGISTRY/`, never on the raw text: `evil.example?.azurecr.io` is
    /// `evil.example`, and not an ACR.
    pub fn is_acr(&self, registry: &str) -> bool {
        if self.acr_registries.iter().any(|r| r == registry) {
            return true;
        }
        let Some(host) = url_host(registry) else {
            return false;
        };
        [".azurecr.io", ".azurecr.cn", ".azurecr.us"]
            .iter()
            .any(|suffix| {
                host.strip_suffix(suffix)
                    .is_some_and(|name| !name.is_empty())
            })
    }
}

/// The host of `https://REGISTRY/`, if the registry is exactly a host and port to a
/// URL parser (nothing else hides in it: no path, query, fragment or user).
pub fn url_host(registry: &str) -> Option<String> {
    if !crate::reference::is_registry_host(registry) {
        return None;
    }
    let url = reqwest::Url::parse(&format!("https://{registry}/")).ok()?;
    let host = url.host_str()?;
    let same = match url.port() {
        Some(port) => registry == format!("{host}:{port}"),
        None => registry == host || registry == format!("{host}:443"),
    };
    same.then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_is_decided_on_the_parsed_host() {
        let options = AuthOptions::default();
        assert!(options.is_acr("myacr.azurecr.io"));
        assert!(options.is_acr("myacr.azurecr.cn:443"));
        for not_acr in [
            "evil.example?.azurecr.io",
            "evil.example#.azurecr.io",
            "evil.example/.azurecr.io",
            "user@evil.example:.azurecr.io",
            "azurecr.io",
            ".azurecr.io",
            "evilazurecr.io",
            "myacr.azurecr.io.evil.example",
            "MYACR.azurecr.io",
        ] {
            assert!(!options.is_acr(not_acr), "{not_acr} is not an ACR");
        }
        let listed = AuthOptions {
            acr_registries: vec!["127.0.0.1:5000".into()],
            ..AuthOptions::default()
        };
        assert!(listed.is_acr("127.0.0.1:5000"));
        assert!(!listed.is_acr("127.0.0.1:5001"));
    }
}
