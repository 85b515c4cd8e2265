//! Downloading a source artifact and proving it is the one the source published,
//! before any of it is read.
//!
//! Like kustomize-controller's fetcher (fluxcd/pkg `http/fetch`), the body is
//! streamed to a temporary file; unlike it, the sha256 is computed on the way, and
//! the file is handed on only when the digest matches `status.artifact.digest`.
//! Nothing downstream (gunzip, untar, render) ever sees an unverified byte.

use crate::digest::{Hasher, Sha256Digest};
use crate::error::{Error, Result};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

/// How artifacts are downloaded.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The largest artifact accepted, in bytes.
    pub max_download: u64,
    /// Replaces the host (and port) of every artifact URL, as kustomize-controller's
    /// `SOURCE_CONTROLLER_LOCALHOST` does: to reach source-controller from outside
    /// the cluster, e.g. through `kubectl port-forward`.
    pub host_override: Option<String>,
    /// The longest a whole download may take.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_download: 256 << 20,
            host_override: None,
            timeout: Duration::from_secs(300),
        }
    }
}

/// Downloads artifacts over HTTP(S).
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    options: FetchOptions,
}

/// A downloaded artifact whose digest matched. The file is removed on drop.
#[derive(Debug)]
pub struct Verified {
    /// The archive, rewound to its start.
    pub file: std::fs::File,
    /// Its size in bytes.
    pub size: u64,
    /// Its digest (the one the source published).
    pub digest: Sha256Digest,
    _temp: tempfile::TempPath,
}

impl Fetcher {
    /// A fetcher. A rustls crypto provider must be installed first
    /// (`gate_oci::install_crypto_provider`).
    pub fn new(options: FetchOptions) -> Result<Fetcher> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(15))
            // source-controller serves artifacts directly; a redirect is not expected,
            // and following one could take the download anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| Error::Client { source })?;
        Ok(Fetcher { client, options })
    }

    /// The URL actually requested for `url`.
    pub fn effective_url(&self, url: &str) -> Result<reqwest::Url> {
        let mut parsed = reqwest::Url::parse(url).map_err(|e| Error::Url {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Url {
                url: url.to_owned(),
                reason: "only http and https are supported".into(),
            });
        }
        if let Some(host) = &self.options.host_override {
            let (name, port) = match host.rsplit_once(':') {
                Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                    (name, port.parse::<u16>().ok())
                }
                _ => (host.as_str(), None),
            };
            let bad = |_| Error::Url {
                url: url.to_owned(),
                reason: format!("cannot set the host to {host:?}"),
            };
            parsed.set_host(Some(name)).map_err(bad)?;
            parsed.set_port(port).map_err(|()| Error::Url {
                url: url.to_owned(),
                reason: format!("cannot set the port of {host:?}"),
            })?;
        }
        Ok(parsed)
    }

    /// Downloads `url` into a temporary file in `dir`, hashing as it goes, and
    /// returns it only if its sha256 is `expected`.
    pub async fn fetch(&self, url: &str, expected: &Sha256Digest, dir: &Path) -> Result<Verified> {
        let target = self.effective_url(url)?;
        let shown = target.to_string();
        let download = |source| Error::Download {
            url: shown.clone(),
            source,
        };
        let mut response = self
            .client
            .get(target.clone())
            .send()
            .await
            .map_err(download)?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::DownloadStatus {
                url: shown,
                status: status.as_u16(),
            });
        }
        let limit = self.options.max_download;
        let too_large = || Error::DownloadTooLarge {
            url: shown.clone(),
            limit,
        };
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut temp = tempfile::Builder::new()
            .prefix("artifact-")
            .suffix(".tar.gz")
            .tempfile_in(dir)
            .map_err(Error::io("create a file in", dir))?;
        let mut hasher = Hasher::default();
        let mut size = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(download)? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(too_large());
            }
            hasher.update(&chunk);
            temp.write_all(&chunk)
                .map_err(Error::io("write", temp.path()))?;
        }
        let actual = hasher.finish();
        if actual != *expected {
            return Err(Error::DigestMismatch {
                url: shown,
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        temp.flush().map_err(Error::io("write", temp.path()))?;
        let (mut file, path) = temp.into_parts();
        file.seek(SeekFrom::Start(0))
            .map_err(Error::io("rewind", &path))?;
        Ok(Verified {
            file,
            size,
            digest: actual,
            _temp: path,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_host_override_replaces_host_and_port() {
        gate_oci::install_crypto_provider();
        let fetcher = Fetcher::new(FetchOptions {
            host_override: Some("localhost:9090".into()),
            ..FetchOptions::default()
        })
        .unwrap();
        let url = fetcher
            .effective_url("http://source-controller.flux-system.svc.cluster.local./gitrepository/a/b/c.tar.gz")
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://localhost:9090/gitrepository/a/b/c.tar.gz"
        );
        assert!(fetcher.effective_url("file:///etc/passwd").is_err());
        assert!(fetcher.effective_url("not a url").is_err());
    }
}
