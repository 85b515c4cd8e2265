//! The distribution token flow (`WWW-Authenticate: Bearer realm=...`) for
//! credentials, done here rather than in oci-client: oci-client sends them to
//! whatever realm a registry names, on any host and over plain HTTP.
//!
//! gate sends credentials to a token realm only when the realm is the registry
//! they were given for (same host and port) and is reached over HTTPS. The realm
//! is asked without following redirects, and its answer never reaches an error
//! message (a token service may echo the request, credentials included).

use super::Registry;
use super::credentials::scope;
use super::transport::{read_body, reqwest_text};
use crate::auth::Secret;
use crate::error::{Error, Result};
use crate::reference::ArtifactRef;
use crate::retry::{Attempt, retry};
use oci_client::RegistryOperation;
use reqwest::StatusCode;
use serde::Deserialize;

/// The largest token answer gate reads.
const MAX_TOKEN_ANSWER_BYTES: u64 = 1 << 20;

/// How a registry asks to be authenticated (its `/v2/` answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Challenge {
    /// No challenge: the registry did not answer 401.
    None,
    /// `Basic`: credentials go to the registry itself.
    Basic,
    /// `Bearer realm=...`: credentials go to a token service.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` to ask a token for.
        service: Option<String>,
    },
    /// A scheme gate does not speak.
    Other(String),
}

/// Parses a `WWW-Authenticate` header (its first challenge).
pub(super) fn parse_challenge(header: &str) -> Challenge {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Challenge::Basic,
        "bearer" => {
            let params = parse_params(params);
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            match get("realm") {
                Some(realm) => Challenge::Bearer {
                    realm,
                    service: get("service"),
                },
                None => Challenge::Other("Bearer without a realm".into()),
            }
        }
        other => Challenge::Other(other.chars().take(32).collect()),
    }
}

/// `k="v", k2=v2` (RFC 7235 auth-params, quoted strings with `\` escapes).
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_owned();
        if key.is_empty() || chars.next_if_eq(&'=').is_none() {
            return params;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_owned();
        }
        params.push((key, value));
    }
}

/// Checks that a token realm may receive the credentials of the registry at
/// `registry_base` (`scheme://host:port`): HTTPS, same host, same port.
/// Returns the realm URL, or why not.
pub(super) fn check_realm(registry_base: &str, realm: &str) -> Result<reqwest::Url, String> {
    let realm_url = reqwest::Url::parse(realm).map_err(|_| "which is not a URL".to_owned())?;
    let base = reqwest::Url::parse(registry_base).map_err(|_| "registry URL".to_owned())?;
    if realm_url.scheme() != "https" {
        return Err("over plain HTTP".into());
    }
    if !realm_url.username().is_empty() || realm_url.password().is_some() {
        return Err("with a user in its URL".into());
    }
    if realm_url.host_str() != base.host_str()
        || realm_url.port_or_known_default() != base.port_or_known_default()
    {
        return Err("on another host".into());
    }
    Ok(realm_url)
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl Registry {
    /// Asks the registry how it authenticates: `GET /v2/` without credentials and
    /// without following redirects.
    pub(super) async fn challenge(&self, reference: &ArtifactRef) -> Result<Challenge> {
        let url = format!("{}/v2/", self.base_url(&reference.registry));
        let failed = |message: String| Error::Registry {
            reference: reference.to_string(),
            operation: "authenticate",
            message,
        };
        retry(&self.options.retry, || async {
            let response = self
                .direct
                .get(&url)
                .send()
                .await
                .map_err(|e| Attempt::Retry {
                    error: failed(reqwest_text(&e)),
                    after: None,
                })?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                return Err(Attempt::Retry {
                    error: failed(format!("HTTP {status}")),
                    after: None,
                });
            }
            if status != StatusCode::UNAUTHORIZED {
                return Ok(Challenge::None);
            }
            Ok(response
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map_or(Challenge::None, parse_challenge))
        })
        .await
    }

    /// A bearer token for `reference` and `op` from the realm the registry named,
    /// asked with basic credentials: only if the realm is the registry itself over
    /// HTTPS, and without following redirects.
    pub(super) async fn bearer_token(
        &self,
        reference: &ArtifactRef,
        op: RegistryOperation,
        challenge: (&str, Option<&str>),
        username: &str,
        password: &Secret,
    ) -> Result<Secret> {
        let (realm, service) = challenge;
        let registry = &reference.registry;
        let auth_error = |message: String| Error::Auth {
            registry: registry.clone(),
            message,
        };
        // The realm is the registry's text: quoted (control characters escaped), and cut.
        let shown = format!("{:?}", realm.chars().take(200).collect::<String>());
        let mut url = check_realm(&self.base_url(registry), realm).map_err(|why| {
            auth_error(format!(
                "the registry names the token service {shown}, {why}: gate sends the credentials \
                 given for {registry} only to {registry} itself, over HTTPS"
            ))
        })?;
        url.query_pairs_mut()
            .append_pair("scope", &scope(reference, op));
        if let Some(service) = service {
            url.query_pairs_mut().append_pair("service", service);
        }
        let answer = retry(&self.options.retry, || async {
            let response = self
                .direct
                .get(url.clone())
                .basic_auth(username, Some(password.expose()))
                .send()
                .await
                .map_err(|e| Attempt::Retry {
                    error: auth_error(format!("token service {shown}: {}", reqwest_text(&e))),
                    after: None,
                })?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                return Err(Attempt::Retry {
                    error: auth_error(format!("token service {shown}: HTTP {status}")),
                    after: None,
                });
            }
            if status.is_redirection() {
                return Err(Attempt::Fail(auth_error(format!(
                    "token service {shown}: HTTP {status}: gate does not follow a redirect with credentials"
                ))));
            }
            if !status.is_success() {
                return Err(Attempt::Fail(auth_error(format!(
                    "token service {shown}: HTTP {status}: the credentials were refused"
                ))));
            }
            read_body(
                reference,
                "authenticate",
                response,
                MAX_TOKEN_ANSWER_BYTES,
                None,
            )
            .await
        })
        .await?;
        serde_json::from_slice::<TokenAnswer>(&answer)
            .ok()
            .and_then(|a| a.token.or(a.access_token))
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| {
                auth_error(format!(
                    "token service {shown}: the answer is not a token (JSON with `token`)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://r.io/token",service="r.io",scope="repository:a:pull""#
            ),
            Challenge::Bearer {
                realm: "https://r.io/token".into(),
                service: Some("r.io".into())
            }
        );
        assert_eq!(
            parse_challenge(r#"bearer service=x, realm="https://r.io/a\"b""#),
            Challenge::Bearer {
                realm: "https://r.io/a\"b".into(),
                service: Some("x".into())
            }
        );
        assert_eq!(parse_challenge(r#"Basic realm="x""#), Challenge::Basic);
        assert_eq!(
            parse_challenge("Bearer service=x"),
            Challenge::Other("Bearer without a realm".into())
        );
        assert_eq!(
            parse_challenge("Negotiate"),
            Challenge::Other("negotiate".into())
        );
    }

    #[test]
    fn a_realm_gets_credentials_only_on_the_registry_itself_over_https() {
        let base = "https://r.example:5000";
        assert!(check_realm(base, "https://r.example:5000/token").is_ok());
        assert!(check_realm("https://r.example", "https://r.example:443/t").is_ok());
        for (realm, why) in [
            ("http://r.example:5000/token", "plain HTTP"),
            ("https://evil.example:5000/token", "another host"),
            ("https://r.example:5001/token", "another host"),
            ("https://r.example.evil.example:5000/token", "another host"),
            ("https://user@r.example:5000/token", "user"),
            ("/token", "not a URL"),
        ] {
            let err = check_realm(base, realm).unwrap_err();
            assert!(err.contains(why), "{realm}: {err}");
        }
        // A plain-HTTP registry does not make a plain-HTTP realm acceptable.
        let plain = "http://127.0.0.1:5000";
        assert!(
            check_realm(plain, "http://127.0.0.1:5000/token")
                .unwrap_err()
                .contains("plain HTTP")
        );
    }
}
