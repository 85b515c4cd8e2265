//! Options shared by every command that talks to registries or the local OCI store.

use anyhow::{Context, Result, bail};
use clap::Args;
use gate_oci::auth::{AuthOptions, BasicCredentials, Secret};
use gate_oci::reference::is_registry_host;
use gate_oci::{ArtifactRef, Client, Registry, RegistryOptions, Store};
use std::collections::BTreeSet;
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

    /// Registry user name (basic auth; with --password or $GATE_REGISTRY_PASSWORD), for one
    /// registry: the one the command reaches, or --credentials-for.
    #[arg(long, env = "GATE_REGISTRY_USERNAME")]
    pub username: Option<String>,

    /// Registry password (prefer the environment variable).
    #[arg(long, env = "GATE_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// The registry (`host[:port]`) that --username/--password are for, when the command
    /// reaches several. No other registry, token service or redirect target gets them.
    #[arg(
        long = "credentials-for",
        env = "GATE_REGISTRY_CREDENTIALS_FOR",
        value_name = "REGISTRY"
    )]
    pub credentials_for: Option<String>,

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
    /// `registries` are those the command will reach: basic credentials go to
    /// exactly one of them (see [`RegistryArgs::basic_for`]).
    pub fn options(&self, registries: &BTreeSet<String>) -> Result<RegistryOptions> {
        let mut options = RegistryOptions::from_env();
        options.plain_http = self.plain_http.clone();
        options.ca_files = self.registry_ca.clone();
        let mut auth = AuthOptions::from_env();
        auth.basic = self.basic_for(registries)?;
        options.auth = auth;
        options.progress = std::io::stderr().is_terminal();
        Ok(options)
    }

    /// The basic credentials, bound to the registry they are for: `--credentials-for`,
    /// else the one registry the command reaches. Several registries and no
    /// `--credentials-for` is an error: gate never guesses where a password goes.
    pub fn basic_for(&self, registries: &BTreeSet<String>) -> Result<Option<BasicCredentials>> {
        let (Some(username), Some(password)) = (&self.username, &self.password) else {
            return Ok(None);
        };
        if username.is_empty() {
            return Ok(None);
        }
        let registry = match &self.credentials_for {
            Some(registry) if is_registry_host(registry) => registry.clone(),
            Some(registry) => bail!(
                "--credentials-for {registry:?}: not a registry (a lowercase host[:port], like myacr.azurecr.io or localhost:5000)"
            ),
            None => match registries.len() {
                0 => return Ok(None),
                1 => registries.iter().next().cloned().unwrap_or_default(),
                _ => bail!(
                    "--username/--password (or GATE_REGISTRY_USERNAME/GATE_REGISTRY_PASSWORD) are for one registry, \
                     and this command reaches {}: name the one they are for with --credentials-for REGISTRY \
                     (GATE_REGISTRY_CREDENTIALS_FOR); the others use the docker config or go anonymous",
                    registries.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            },
        };
        Ok(Some(BasicCredentials {
            registry,
            username: username.clone(),
            password: Secret::new(password.clone()),
        }))
    }

    /// A client: online (registry and store) or offline (store only). `registries`
    /// are the registries the command will reach (for the basic credentials).
    pub fn client(&self, offline: bool, registries: &BTreeSet<String>) -> Result<Client> {
        gate_oci::install_crypto_provider();
        let store = self.store()?;
        if offline {
            return Ok(Client::offline(store));
        }
        Ok(Client::online(
            Registry::new(self.options(registries)?)?,
            store,
        ))
    }
}

/// The registries of some references, for [`RegistryArgs::client`].
pub fn registries_of<'a>(
    references: impl IntoIterator<Item = &'a ArtifactRef>,
) -> BTreeSet<String> {
    references
        .into_iter()
        .map(|reference| reference.registry.clone())
        .collect()
}

/// A single-threaded async runtime for the registry calls of one command.
pub fn async_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
