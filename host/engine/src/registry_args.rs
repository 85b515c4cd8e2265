//! Options shared by every command that talks to registries or the local OCI store.

use anyhow::{Context, Result};
use clap::Args;
use gate_oci::auth::{AuthOptions, Secret};
use gate_oci::{Client, Registry, RegistryOptions, Store};
use std::io::IsTerminal as _;
use std::path::PathBuf;

/// Registry and store options.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Registries (`host:port`) to reach over plain HTTP instead of HTTPS.
    #[arg(
        long = "plain-http",
        env = "GATE_PLAIN_HTTP",
        value_delimiter = ',',
        value_name = "REGISTRY"
    )]
    pub plain_http: Vec<String>,

    /// Extra CA certificates (PEM) to trust for registries.
    #[arg(
        long = "registry-ca",
        env = "GATE_REGISTRY_CA_FILE",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub registry_ca: Vec<PathBuf>,

    /// Registry user name (basic auth; with --password or $GATE_REGISTRY_PASSWORD).
    #[arg(long, env = "GATE_REGISTRY_USERNAME")]
    pub username: Option<String>,

    /// Registry password (prefer the environment variable).
    #[arg(long, env = "GATE_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// The local OCI store [default: $XDG_CACHE_HOME/gate/oci or ~/.cache/gate/oci].
    #[arg(long = "oci-store", env = "GATE_OCI_STORE", value_name = "DIR")]
    pub oci_store: Option<PathBuf>,
}

impl RegistryArgs {
    /// Opens the local store.
    pub fn store(&self) -> Result<Store> {
        let root = self
            .oci_store
            .clone()
            .or_else(Store::default_root)
            .context("no OCI store directory: set $GATE_OCI_STORE or $HOME")?;
        Ok(Store::open(&root)?)
    }

    /// The registry options: these flags over the environment's defaults.
    pub fn options(&self) -> RegistryOptions {
        let mut options = RegistryOptions::from_env();
        options.plain_http = self.plain_http.clone();
        options.ca_files = self.registry_ca.clone();
        let mut auth = AuthOptions::from_env();
        auth.basic = match (&self.username, &self.password) {
            (Some(user), Some(password)) if !user.is_empty() => {
                Some((user.clone(), Secret::new(password.clone())))
            }
            _ => None,
        };
        options.auth = auth;
        options.progress = std::io::stderr().is_terminal();
        options
    }

    /// A client: online (registry and store) or offline (store only).
    pub fn client(&self, offline: bool) -> Result<Client> {
        gate_oci::install_crypto_provider();
        let store = self.store()?;
        if offline {
            return Ok(Client::offline(store));
        }
        Ok(Client::online(Registry::new(self.options())?, store))
    }
}

/// A single-threaded async runtime for the registry calls of one command.
pub fn async_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
