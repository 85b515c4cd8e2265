//! The serving certificate: read from PEM files (cert-manager writes them into
//! a Secret mounted as a volume), with ring as the crypto provider, and reloaded
//! when the files change (cert-manager renews the certificate in place).

use crate::error::{Error, Result};
use crate::metrics::ReloadTarget;
use crate::state::AppState;
use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The certificate chain and key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first (`tls.crt`).
    pub cert: PathBuf,
    /// PEM private key (`tls.key`).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files and builds a server configuration (HTTP/2 and HTTP/1.1).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>> {
        let (cert_pem, key_pem) = self.read()?;
        self.config_from(&cert_pem, &key_pem)
    }

    fn read(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| Error::TlsFile {
                what,
                path: path.to_owned(),
                source,
            })
        };
        Ok((read("certificate", &self.cert)?, read("key", &self.key)?))
    }

    fn config_from(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>> {
        let pem_error = |what, path: &Path, detail: String| Error::TlsPem {
            what,
            path: path.to_owned(),
            detail,
        };
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("certificate", &self.cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(pem_error(
                "certificate",
                &self.cert,
                "no CERTIFICATE block".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| pem_error("key", &self.key, e.to_string()))?;
        let tls_error = |source| Error::Tls {
            cert: self.cert.clone(),
            key: self.key.clone(),
            source,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(tls_error)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    fn fingerprint(&self) -> Option<String> {
        let (cert, key) = self.read().ok()?;
        Some(gate_runtime::digest_of(&[cert, key].concat()))
    }
}

/// Polls the files and swaps in a new certificate when they change. A pair that
/// does not load leaves the old certificate serving, logs why and raises
/// `gate_reload_failing{target="tls"}`.
pub async fn watch(files: TlsFiles, config: RustlsConfig, poll: Duration, state: Arc<AppState>) {
    let mut seen = files.fingerprint();
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let now = files.fingerprint();
        if now == seen || now.is_none() {
            continue;
        }
        seen = now;
        match files.server_config() {
            Ok(new) => {
                config.reload_from_config(new);
                tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                state.metrics.reload(ReloadTarget::Tls, true);
            }
            Err(error) => {
                tracing::error!(error = %error, "TLS certificate reload failed; the old certificate stays");
                state.metrics.reload(ReloadTarget::Tls, false);
            }
        }
    }
}
