//! One request at a time: GETs with the read credentials, classified into
//! transient and permanent failures, and bodies read under a size limit.

use super::{Registry, lock};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::reference::ArtifactRef;
use crate::retry::{Attempt, parse_retry_after};
use futures_util::StreamExt as _;
use oci_client::errors::OciDistributionError;
use reqwest::StatusCode;
use std::time::Duration;

impl Registry {
    /// One GET, classified: transient failures are retried by the caller.
    pub(super) async fn get(
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
                    error: registry_error(reqwest_text(&e)),
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
}

/// An oci-client error's text, without request URLs' query strings.
pub(super) fn describe(error: &OciDistributionError) -> String {
    match error {
        OciDistributionError::RequestError(e) => reqwest_text(e),
        other => other.to_string(),
    }
}

/// A reqwest error's text: the URL's path only (never its query), and the chain
/// of causes that reqwest's own message ("error sending request") hides, e.g.
/// "tcp connect error: Connection refused".
pub(super) fn reqwest_text(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), url.path());
    }
    let mut source = std::error::Error::source(error);
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

impl Registry {
    /// An oci-client failure as an attempt: transient (retried) or not. Its text
    /// comes from the registry's answer, so every secret this connection holds is
    /// cut out of it first.
    pub(super) fn classify(
        &self,
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
            message: self.redact(&describe(&error)),
        };
        if transient {
            Attempt::Retry { error, after: None }
        } else {
            Attempt::Fail(error)
        }
    }
}

/// Reads a body of at most `limit` bytes; a broken or over-long body is transient.
pub(super) async fn read_body(
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
