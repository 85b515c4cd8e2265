//! Talking to registries: reads by digest with our own checks and retries,
//! writes through `oci-client`, credentials per [`crate::auth`].

use crate::auth::acr::{self, WorkloadIdentity};
use crate::auth::{AuthOptions, Credential, Secret, docker_config};
use crate::digest;
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, Index, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, OCI_INDEX};
use crate::progress::Progress;
use crate::reference::ArtifactRef;
use crate::retry::{Attempt, RetryPolicy, parse_retry_after, retry};
use base64::Engine as _;
use futures_util::StreamExt as _;
use oci_client::RegistryOperation;
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
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
            progress: false,
        }
    }
}

impl RegistryOptions {
    /// Options from the environment: `GATE_PLAIN_HTTP` (comma-separated registries),
    /// `GATE_REGISTRY_CA_FILE`, `GATE_REGISTRY_TIMEOUT_SECS`, `GATE_REGISTRY_ATTEMPTS`,
    /// and [`AuthOptions::from_env`].
    pub fn from_env() -> RegistryOptions {
        let list = |name: &str| -> Vec<String> {
            std::env::var(name)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut options = RegistryOptions {
            plain_http: list("GATE_PLAIN_HTTP"),
            ca_files: list("GATE_REGISTRY_CA_FILE")
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
        if let Some(n) = std::env::var("GATE_REGISTRY_ATTEMPTS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            options.retry.attempts = n;
        }
        options
    }
}

/// A manifest as fetched: exact bytes and their digest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Their sha256 (checked against the reference's digest, if pinned).
    pub digest: String,
    /// The media type the registry declared.
    pub media_type: String,
}

/// A connection to registries.
pub struct Registry {
    options: RegistryOptions,
    oci: oci_client::Client,
    http: reqwest::Client,
    credentials: Mutex<HashMap<String, Credential>>,
    headers: Mutex<HashMap<String, Option<Secret>>>,
}

impl Registry {
    /// Builds the HTTP clients. Call [`crate::install_crypto_provider`] first.
    pub fn new(options: RegistryOptions) -> Result<Registry> {
        let mut pems = Vec::new();
        for path in &options.ca_files {
            pems.push(std::fs::read(path).map_err(Error::io(path))?);
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.timeout)
            .read_timeout(options.timeout)
            .user_agent(concat!("gate/", env!("CARGO_PKG_VERSION")));
        let mut extra = Vec::new();
        for (pem, path) in pems.iter().zip(&options.ca_files) {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::Key {
                path: path.clone(),
                message: format!("not PEM certificates: {e}"),
            })?;
            extra.extend(certs);
        }
        if !extra.is_empty() {
            builder = builder.tls_certs_merge(extra);
        }
        let http = builder.build().map_err(|e| Error::Registry {
            reference: "-".into(),
            operation: "set up the HTTP client",
            message: e.to_string(),
        })?;
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
            credentials: Mutex::new(HashMap::new()),
            headers: Mutex::new(HashMap::new()),
        })
    }

    /// The options in use.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    fn base_url(&self, registry: &str) -> String {
        let scheme = if self.options.plain_http.iter().any(|r| r == registry) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{registry}")
    }

    /// The credential for a registry (cached for this connection).
    async fn credential(&self, registry: &str) -> Result<Credential> {
        if let Some(found) = lock(&self.credentials).get(registry) {
            return Ok(found.clone());
        }
        let credential = if let Some((username, password)) = &self.options.auth.basic {
            Credential::Basic {
                username: username.clone(),
                password: password.clone(),
            }
        } else if let Some(wi) =
            WorkloadIdentity::from_env().filter(|_| self.options.auth.is_acr(registry))
        {
            let aad = wi.aad_token(&self.http, registry).await?;
            let refresh = acr::exchange(
                &self.http,
                &self.base_url(registry),
                registry,
                &wi.tenant_id,
                &aad,
            )
            .await?;
            Credential::RefreshToken(refresh)
        } else {
            let path = self
                .options
                .auth
                .docker_config
                .clone()
                .or_else(docker_config::default_path);
            match path {
                Some(path) => {
                    docker_config::lookup(&path, registry)?.unwrap_or(Credential::Anonymous)
                }
                None => Credential::Anonymous,
            }
        };
        lock(&self.credentials).insert(registry.to_owned(), credential.clone());
        Ok(credential)
    }

    /// What oci-client is to present for `reference` and `op`.
    async fn oci_auth(
        &self,
        reference: &ArtifactRef,
        op: RegistryOperation,
    ) -> Result<RegistryAuth> {
        Ok(match self.credential(&reference.registry).await? {
            Credential::Anonymous => RegistryAuth::Anonymous,
            Credential::Basic { username, password } => {
                RegistryAuth::Basic(username, password.expose().to_owned())
            }
            Credential::RefreshToken(refresh) => {
                let scope = scope(reference, op);
                let token = acr::access_token(
                    &self.http,
                    &self.base_url(&reference.registry),
                    &reference.registry,
                    &scope,
                    &refresh,
                )
                .await?;
                RegistryAuth::Bearer(token.expose().to_owned())
            }
        })
    }

    /// The `Authorization` header for reading `reference` (cached per repository).
    /// An unreachable registry or token service is transient; a refusal is not.
    async fn read_header(&self, reference: &ArtifactRef) -> Result<Option<Secret>, Attempt> {
        let key = reference.repository_path();
        if let Some(found) = lock(&self.headers).get(&key) {
            return Ok(found.clone());
        }
        let auth = self.oci_auth(reference, RegistryOperation::Pull).await?;
        let token = self
            .oci
            .auth(&reference.to_oci(), &auth, RegistryOperation::Pull)
            .await
            .map_err(|e| match classify(reference, "authenticate", e) {
                Attempt::Fail(Error::Registry { message, .. }) => Attempt::Fail(Error::Auth {
                    registry: reference.registry.clone(),
                    message,
                }),
                transient => transient,
            })?;
        let header = match (token, &auth) {
            (Some(token), _) => Some(Secret::new(format!("Bearer {token}"))),
            (None, RegistryAuth::Basic(user, pass)) => Some(Secret::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            ))),
            (None, RegistryAuth::Bearer(token)) => Some(Secret::new(format!("Bearer {token}"))),
            (None, RegistryAuth::Anonymous) => None,
        };
        lock(&self.headers).insert(key, header.clone());
        Ok(header)
    }

    /// One GET, classified: transient failures are retried by the caller.
    async fn get(
        &self,
        reference: &ArtifactRef,
        operation: &'static str,
        url: &str,
        accept: Option<&str>,
    ) -> Result<reqwest::Response, Attempt> {
        let header = self.read_header(reference).await?;
        let mut request = self.http.get(url);
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        if let Some(header) = &header {
            request = request.header(reqwest::header::AUTHORIZATION, header.expose());
        }
        let registry_error = |message: String| Error::Registry {
            reference: reference.to_string(),
            operation,
            message,
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return Err(Attempt::Retry {
                    error: registry_error(e.without_url().to_string()),
                    after: None,
                });
            }
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            return Err(Attempt::Retry {
                error: registry_error(format!("HTTP {status}")),
                after,
            });
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            // A token may have expired: forget it and try once more with a fresh one.
            lock(&self.headers).remove(&reference.repository_path());
            return Err(Attempt::Retry {
                error: Error::Auth {
                    registry: reference.registry.clone(),
                    message: format!(
                        "{operation} {reference}: HTTP {status}: the registry refused the credentials"
                    ),
                },
                after: Some(Duration::ZERO),
            });
        }
        Ok(response)
    }

    /// Fetches a manifest by digest or tag. `None` if the registry has none.
    /// A pinned reference's digest is checked against the bytes.
    pub async fn fetch_manifest(&self, reference: &ArtifactRef) -> Result<Option<FetchedManifest>> {
        let key = reference.manifest_key().ok_or_else(|| Error::Reference {
            reference: reference.to_string(),
            message: "needs a tag or a digest".into(),
        })?;
        let url = format!(
            "{}/v2/{}/manifests/{key}",
            self.base_url(&reference.registry),
            reference.repository
        );
        retry(&self.options.retry, || async {
            let response = self
                .get(reference, "pull manifest", &url, Some(MANIFEST_ACCEPT))
                .await?;
            let status = response.status();
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(Attempt::Fail(Error::Registry {
                    reference: reference.to_string(),
                    operation: "pull manifest",
                    message: format!("HTTP {status}"),
                }));
            }
            let media_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let bytes = read_body(
                reference,
                "pull manifest",
                response,
                MAX_MANIFEST_BYTES as u64,
                None,
            )
            .await?;
            let actual = digest::sha256(&bytes);
            if let Some(expected) = &reference.digest
                && &actual != expected
            {
                return Err(Attempt::Fail(Error::DigestMismatch {
                    reference: reference.to_string(),
                    what: "manifest".into(),
                    expected: expected.clone(),
                    actual,
                }));
            }
            Ok(Some(FetchedManifest {
                bytes,
                digest: actual,
                media_type,
            }))
        })
        .await
    }

    /// Fetches a blob and checks its size and digest against the descriptor.
    /// Short or corrupted bodies are retried, then refused.
    pub async fn fetch_blob(
        &self,
        reference: &ArtifactRef,
        descriptor: &Descriptor,
    ) -> Result<Vec<u8>> {
        if !digest::is_sha256(&descriptor.digest) {
            return Err(Error::Artifact {
                reference: reference.to_string(),
                message: format!("blob digest {:?} is not a sha256 digest", descriptor.digest),
            });
        }
        let url = format!(
            "{}/v2/{}/blobs/{}",
            self.base_url(&reference.registry),
            reference.repository,
            descriptor.digest
        );
        let blob_ref = reference.at_digest(&descriptor.digest);
        retry(&self.options.retry, || async {
            let response = self.get(reference, "pull blob", &url, None).await?;
            let status = response.status();
            if !status.is_success() {
                return Err(Attempt::Fail(Error::Registry {
                    reference: blob_ref.to_string(),
                    operation: "pull blob",
                    message: format!("HTTP {status}"),
                }));
            }
            let progress = Progress::new(
                &format!("pulling {}", descriptor.digest),
                descriptor.size,
                self.options.progress,
            );
            let bytes = read_body(
                &blob_ref,
                "pull blob",
                response,
                descriptor.size,
                Some(progress),
            )
            .await?;
            let actual = digest::sha256(&bytes);
            if bytes.len() as u64 != descriptor.size || actual != descriptor.digest {
                // A truncated or corrupted transfer looks the same as tampering: retry,
                // and refuse if it persists.
                return Err(Attempt::Retry {
                    error: Error::DigestMismatch {
                        reference: blob_ref.to_string(),
                        what: format!("blob ({} of {} bytes)", bytes.len(), descriptor.size),
                        expected: descriptor.digest.clone(),
                        actual,
                    },
                    after: None,
                });
            }
            Ok(bytes)
        })
        .await
    }

    /// The referrers of a manifest: the OCI 1.1 referrers API, else the
    /// referrers tag schema (`sha256-<hex>`), else none.
    pub async fn fetch_referrers(&self, reference: &ArtifactRef, subject: &str) -> Result<Index> {
        let url = format!(
            "{}/v2/{}/referrers/{subject}",
            self.base_url(&reference.registry),
            reference.repository
        );
        let api = retry(&self.options.retry, || async {
            let response = self
                .get(reference, "list referrers", &url, Some(OCI_INDEX))
                .await?;
            let status = response.status();
            if !status.is_success() {
                return Ok(None);
            }
            let bytes = read_body(
                reference,
                "list referrers",
                response,
                MAX_MANIFEST_BYTES as u64,
                None,
            )
            .await?;
            Ok(serde_json::from_slice::<Index>(&bytes).ok())
        })
        .await?;
        if let Some(index) = api {
            return Ok(index);
        }
        let tag_ref = reference.at_tag(&digest::referrers_tag(subject));
        match self.fetch_manifest(&tag_ref).await? {
            Some(fetched) => serde_json::from_slice(&fetched.bytes).map_err(|e| Error::Artifact {
                reference: tag_ref.to_string(),
                message: format!("the referrers tag is not an OCI index: {e}"),
            }),
            None => Ok(Index::new()),
        }
    }

    /// Pushes a blob unless the registry has it.
    pub async fn push_blob(&self, reference: &ArtifactRef, bytes: &[u8]) -> Result<String> {
        let digest = digest::sha256(bytes);
        let oref = reference.to_oci();
        self.prepare_push(reference).await?;
        let data = bytes::Bytes::copy_from_slice(bytes);
        retry(&self.options.retry, || {
            let data = data.clone();
            let oref = &oref;
            let digest = &digest;
            async move {
                if self.oci.blob_exists(oref, digest).await.unwrap_or(false) {
                    return Ok(());
                }
                self.oci
                    .push_blob(oref, data, digest)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(reference, "push blob", e))
            }
        })
        .await?;
        Ok(digest)
    }

    /// Pushes a manifest under the reference's tag (or digest); returns its digest.
    pub async fn push_manifest(
        &self,
        reference: &ArtifactRef,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String> {
        let oref = reference.to_oci();
        self.prepare_push(reference).await?;
        let content_type =
            reqwest::header::HeaderValue::from_str(media_type).map_err(|_| Error::Artifact {
                reference: reference.to_string(),
                message: format!("bad media type {media_type:?}"),
            })?;
        let body = bytes::Bytes::copy_from_slice(bytes);
        retry(&self.options.retry, || {
            let body = body.clone();
            let content_type = content_type.clone();
            let oref = &oref;
            async move {
                self.oci
                    .push_manifest_raw(oref, body, content_type)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(reference, "push manifest", e))
            }
        })
        .await?;
        Ok(digest::sha256(bytes))
    }

    async fn prepare_push(&self, reference: &ArtifactRef) -> Result<()> {
        let auth = self.oci_auth(reference, RegistryOperation::Push).await?;
        retry(&self.options.retry, || async {
            self.oci
                .auth(&reference.to_oci(), &auth, RegistryOperation::Push)
                .await
                .map(|_| ())
                .map_err(|e| match classify(reference, "authenticate", e) {
                    Attempt::Fail(Error::Registry { message, .. }) => Attempt::Fail(Error::Auth {
                        registry: reference.registry.clone(),
                        message,
                    }),
                    other => other,
                })
        })
        .await
    }

    /// Lists a repository's tags (used to find signatures by tag).
    pub async fn tags(&self, reference: &ArtifactRef) -> Result<Vec<String>> {
        let auth = self.oci_auth(reference, RegistryOperation::Pull).await?;
        let response = self
            .oci
            .list_tags(&reference.to_oci(), &auth, None, None)
            .await
            .map_err(|e| Error::Registry {
                reference: reference.to_string(),
                operation: "list tags",
                message: describe(&e),
            })?;
        Ok(response.tags)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn scope(reference: &ArtifactRef, op: RegistryOperation) -> String {
    match op {
        RegistryOperation::Pull => format!("repository:{}:pull", reference.repository),
        RegistryOperation::Push => format!("repository:{}:pull,push", reference.repository),
    }
}

/// An oci-client error's text, without request URLs' query strings.
fn describe(error: &OciDistributionError) -> String {
    match error {
        OciDistributionError::RequestError(e) => {
            let mut text = e.to_string();
            if let Some(url) = e.url() {
                text = text.replace(url.as_str(), url.path());
            }
            // reqwest's own message ("error sending request") hides the cause: add the
            // chain underneath it (e.g. "tcp connect error: Connection refused").
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text.push_str(": ");
                    text.push_str(&cause_text);
                }
                source = cause.source();
            }
            text
        }
        other => other.to_string(),
    }
}

fn classify(
    reference: &ArtifactRef,
    operation: &'static str,
    error: OciDistributionError,
) -> Attempt {
    let transient = match &error {
        OciDistributionError::ServerError { code, .. } => *code == 429 || *code >= 500,
        OciDistributionError::RequestError(e) => {
            e.is_timeout() || e.is_connect() || e.is_body() || e.is_request()
        }
        OciDistributionError::IoError(_) => true,
        _ => false,
    };
    let error = Error::Registry {
        reference: reference.to_string(),
        operation,
        message: describe(&error),
    };
    if transient {
        Attempt::Retry { error, after: None }
    } else {
        Attempt::Fail(error)
    }
}

/// Reads a body of at most `limit` bytes; a broken or over-long body is transient.
async fn read_body(
    reference: &ArtifactRef,
    operation: &'static str,
    response: reqwest::Response,
    limit: u64,
    mut progress: Option<Progress>,
) -> Result<Vec<u8>, Attempt> {
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Attempt::Retry {
            error: Error::Registry {
                reference: reference.to_string(),
                operation,
                message: format!(
                    "the body broke off after {} bytes: {}",
                    bytes.len(),
                    e.without_url()
                ),
            },
            after: None,
        })?;
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Err(Attempt::Fail(Error::Artifact {
                reference: reference.to_string(),
                message: format!(
                    "{operation}: the registry sent more than the {limit} bytes expected"
                ),
            }));
        }
        bytes.extend_from_slice(&chunk);
        if let Some(progress) = progress.as_mut() {
            progress.advance(bytes.len() as u64);
        }
    }
    if let Some(progress) = progress {
        progress.finish();
    }
    Ok(bytes)
}
