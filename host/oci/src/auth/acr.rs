//! Azure Container Registry through AKS Workload Identity.
//!
//! 1. Read the federated service-account token from `AZURE_FEDERATED_TOKEN_FILE`.
//! 2. Azure AD client-assertion grant at
//!    `{AZURE_AUTHORITY_HOST}{AZURE_TENANT_ID}/oauth2/v2.0/token` → an AAD access token.
//! 3. ACR `POST /oauth2/exchange` (`grant_type=access_token`, `service`, `tenant`,
//!    `access_token`) → an ACR refresh token.
//! 4. ACR `POST /oauth2/token` (`grant_type=refresh_token`, `service`, `scope`,
//!    `refresh_token`) → an access token for one repository scope.
//!
//! No token is ever logged or put in an error: failures carry the endpoint, the
//! HTTP status and the server's `error` code only.

use super::Secret;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::PathBuf;

/// The default Azure AD authority.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com/";
/// The AAD scope whose tokens ACR exchanges (`GATE_ACR_AAD_SCOPE` overrides it).
pub const DEFAULT_AAD_SCOPE: &str = "https://containerregistry.azure.net/.default";

/// The Workload Identity environment that AKS injects into a pod.
#[derive(Debug, Clone)]
pub struct WorkloadIdentity {
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub token_file: PathBuf,
    /// `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// `AZURE_TENANT_ID`.
    pub tenant_id: String,
    /// `AZURE_AUTHORITY_HOST`, ending in `/`.
    pub authority_host: String,
}

impl WorkloadIdentity {
    /// Reads the environment; `None` unless the file, client and tenant are all set.
    pub fn from_env() -> Option<WorkloadIdentity> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut authority_host =
            var("AZURE_AUTHORITY_HOST").unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_owned());
        if !authority_host.ends_with('/') {
            authority_host.push('/');
        }
        Some(WorkloadIdentity {
            token_file: PathBuf::from(var("AZURE_FEDERATED_TOKEN_FILE")?),
            client_id: var("AZURE_CLIENT_ID")?,
            tenant_id: var("AZURE_TENANT_ID")?,
            authority_host,
        })
    }

    /// Steps 1 and 2: the AAD access token.
    pub async fn aad_token(&self, http: &reqwest::Client, registry: &str) -> Result<Secret> {
        let assertion =
            std::fs::read_to_string(&self.token_file).map_err(Error::io(&self.token_file))?;
        let url = format!(
            "{}{}/oauth2/v2.0/token",
            self.authority_host, self.tenant_id
        );
        let scope =
            std::env::var("GATE_ACR_AAD_SCOPE").unwrap_or_else(|_| DEFAULT_AAD_SCOPE.to_owned());
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.trim()),
            ("scope", scope.as_str()),
        ];
        let answer: TokenAnswer = post_form(http, registry, "Azure AD token", &url, &form).await?;
        answer
            .access_token
            .map(Secret::new)
            .ok_or_else(|| Error::Auth {
                registry: registry.to_owned(),
                message: format!("Azure AD token endpoint {url} answered without access_token"),
            })
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    error: Option<String>,
}

/// Step 3: an ACR refresh token for an AAD access token.
pub async fn exchange(
    http: &reqwest::Client,
    base_url: &str,
    registry: &str,
    tenant: &str,
    aad_token: &Secret,
) -> Result<Secret> {
    let url = format!("{base_url}/oauth2/exchange");
    let form = [
        ("grant_type", "access_token"),
        ("service", registry),
        ("tenant", tenant),
        ("access_token", aad_token.expose()),
    ];
    let answer: TokenAnswer = post_form(http, registry, "ACR token exchange", &url, &form).await?;
    answer
        .refresh_token
        .map(Secret::new)
        .ok_or_else(|| Error::Auth {
            registry: registry.to_owned(),
            message: format!("{url} answered without refresh_token"),
        })
}

/// Step 4: an access token for `scope` (`repository:REPO:pull[,push]`).
pub async fn access_token(
    http: &reqwest::Client,
    base_url: &str,
    registry: &str,
    scope: &str,
    refresh_token: &Secret,
) -> Result<Secret> {
    let url = format!("{base_url}/oauth2/token");
    let form = [
        ("grant_type", "refresh_token"),
        ("service", registry),
        ("scope", scope),
        ("refresh_token", refresh_token.expose()),
    ];
    let answer: TokenAnswer = post_form(http, registry, "ACR access token", &url, &form).await?;
    answer
        .access_token
        .map(Secret::new)
        .ok_or_else(|| Error::Auth {
            registry: registry.to_owned(),
            message: format!("{url} answered without access_token"),
        })
}

/// The body of a token endpoint's answer, at most 1 MiB (a longer one is cut:
/// it is not a token answer anyway).
async fn read_limited(response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    use futures_util::StreamExt as _;
    const LIMIT: usize = 1 << 20;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > LIMIT {
            body.truncate(LIMIT);
            break;
        }
    }
    Ok(body)
}

/// Is this an OAuth error code (`invalid_client`, `unauthorized`, ...)? Only such
/// a code from the server's answer is shown: free text could echo the request,
/// and the request carries a token.
fn is_error_code(code: &str) -> bool {
    (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// POSTs a form with a secret in it, to exactly `url`: redirects are not followed
/// (`http` must be built with `redirect::Policy::none()`).
async fn post_form<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    registry: &str,
    step: &str,
    url: &str,
    form: &[(&str, &str)],
) -> Result<T> {
    let err = |message: String| Error::Auth {
        registry: registry.to_owned(),
        message: format!("{step} at {url}: {message}"),
    };
    // reqwest's error text names the URL only; the form (with the secrets) is never in it.
    let response = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| err(e.without_url().to_string()))?;
    let status = response.status();
    let body = read_limited(response)
        .await
        .map_err(|e| err(e.without_url().to_string()))?;
    if status.is_redirection() {
        // The form carries a token: it is never re-sent to wherever a redirect points.
        return Err(err(format!(
            "HTTP {status}: gate does not follow a redirect with credentials"
        )));
    }
    if !status.is_success() {
        let code = serde_json::from_slice::<ErrorAnswer>(&body)
            .ok()
            .and_then(|e| e.error)
            .filter(|code| is_error_code(code))
            .map(|code| format!(" ({code})"))
            .unwrap_or_default();
        return Err(err(format!("HTTP {status}{code}")));
    }
    serde_json::from_slice(&body).map_err(|_| err("the answer is not the expected JSON".into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_oauth_error_codes_are_shown() {
        assert!(super::is_error_code("invalid_client"));
        assert!(super::is_error_code("unauthorized"));
        for not_a_code in [
            "",
            "eyJhbGciOi.JIUzI1",
            "echo: aad-access-SECRET1",
            "A_B",
            &"a".repeat(65),
        ] {
            assert!(!super::is_error_code(not_a_code), "{not_a_code}");
        }
    }
}
