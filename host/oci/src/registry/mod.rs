//! Talking to registries: reads by digest with our own checks and retries,
//! writes through `oci-client`, credentials per [`crate::auth`].
//!
//! - [`options`]: how registries are reached;
//! - `credentials`: the credential of each registry and the read `Authorization` header;
//! - `token`: bearer tokens for credentials, from the registry's own token service only;
//! - `transport`: one classified GET, and bodies read under a limit;
//! - `reads`, `referrers`, `writes`: the operations.

mod credentials;
mod options;
mod reads;
mod referrers;
mod token;
mod transport;
mod writes;

pub use options::RegistryOptions;
pub(crate) use options::env_list;
pub use reads::FetchedManifest;

use crate::auth::{Credential, Secret};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;

/// A connection to registries.
pub struct Registry {
    options: RegistryOptions,
    oci: oci_client::Client,
    /// Reads: follows redirects (blob storage), dropping `Authorization` on another host.
    http: reqwest::Client,
    /// Requests that carry credentials (token services, ACR exchanges): no redirects.
    direct: reqwest::Client,
    credentials: Mutex<HashMap<String, Credential>>,
    headers: Mutex<HashMap<String, Option<Secret>>>,
    /// Every secret this connection has held, to cut out of registry answers.
    secrets: Mutex<Vec<Secret>>,
}

impl Registry {
    /// Builds the HTTP clients. Call [`crate::install_crypto_provider`] first.
    pub fn new(options: RegistryOptions) -> Result<Registry> {
        let mut pems = Vec::new();
        for path in &options.ca_files {
            pems.push(std::fs::read(path).map_err(Error::io(path))?);
        }
        let mut extra = Vec::new();
        for (pem, path) in pems.iter().zip(&options.ca_files) {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::Key {
                path: path.clone(),
                message: format!("not PEM certificates: {e}"),
            })?;
            extra.extend(certs);
        }
        let http = http_client(&options, &extra, reqwest::redirect::Policy::default())?;
        let direct = http_client(&options, &extra, reqwest::redirect::Policy::none())?;
        let oci = oci_client::Client::try_from(oci_client::client::ClientConfig {
            protocol: oci_client::client::ClientProtocol::HttpsExcept(options.plain_http.clone()),
            extra_root_certificates: pems
                .iter()
                .map(|pem| oci_client::client::Certificate {
                    encoding: oci_client::client::CertificateEncoding::Pem,
                    data: pem.clone(),
                })
                .collect(),
            read_timeout: Some(options.timeout),
            connect_timeout: Some(options.timeout),
            user_agent: concat!("gate/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        })
        .map_err(|e| Error::Registry {
            reference: "-".into(),
            operation: "set up the OCI client",
            message: e.to_string(),
        })?;
        Ok(Registry {
            options,
            oci,
            http,
            direct,
            credentials: Mutex::new(HashMap::new()),
            headers: Mutex::new(HashMap::new()),
            secrets: Mutex::new(Vec::new()),
        })
    }

    /// The options in use.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// Notes a secret (password, token, header value) so that [`Registry::redact`]
    /// cuts it out of any text a registry sends back.
    pub(super) fn remember(&self, secret: &str) {
        if secret.len() >= 4 {
            lock(&self.secrets).push(Secret::new(secret));
        }
    }

    /// `text` with every remembered secret replaced by `<redacted>`.
    pub(super) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in lock(&self.secrets).iter() {
            text = text.replace(secret.expose(), "<redacted>");
        }
        text
    }

    pub(super) fn base_url(&self, registry: &str) -> String {
        let scheme = if self.options.plain_http.iter().any(|r| r == registry) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{registry}")
    }
}

/// A reqwest client with gate's timeouts, user agent, extra CAs and redirect policy.
fn http_client(
    options: &RegistryOptions,
    extra: &[reqwest::Certificate],
    redirects: reqwest::redirect::Policy,
) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.timeout)
        .read_timeout(options.timeout)
        .redirect(redirects)
        .user_agent(concat!("gate/", env!("CARGO_PKG_VERSION")));
    if !extra.is_empty() {
        builder = builder.tls_certs_merge(extra.to_vec());
    }
    builder.build().map_err(|e| Error::Registry {
        reference: "-".into(),
        operation: "set up the HTTP client",
        message: e.to_string(),
    })
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
