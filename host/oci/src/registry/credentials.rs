//! What the registry connection presents: the credential of each registry, and
//! the `Authorization` header of reads. Credentials go to the registry they are
//! for and nowhere else: bearer tokens for them are fetched by [`super::token`],
//! and oci-client only ever sees a token, or basic credentials for a registry
//! that asked for basic authentication itself.

use super::token::Challenge;
use super::{Registry, lock};
use crate::auth::acr::{self, WorkloadIdentity};
use crate::auth::{Credential, Secret, docker_config};
use crate::error::{Error, Result};
use crate::reference::ArtifactRef;
use crate::retry::Attempt;
use base64::Engine as _;
use oci_client::RegistryOperation;
use oci_client::secrets::RegistryAuth;

impl Registry {
    /// The credential for a registry (cached for this connection).
    async fn credential(&self, registry: &str) -> Result<Credential> {
        if let Some(found) = lock(&self.credentials).get(registry) {
            return Ok(found.clone());
        }
        let given = self
            .options
            .auth
            .basic
            .as_ref()
            .filter(|basic| basic.registry == registry);
        let credential = if let Some(basic) = given {
            Credential::Basic {
                username: basic.username.clone(),
                password: basic.password.clone(),
            }
        } else if let Some(wi) =
            WorkloadIdentity::from_env().filter(|_| self.options.auth.is_acr(registry))
        {
            if !self.base_url(registry).starts_with("https://") {
                // The exchange posts an Azure AD token: never in the clear.
                return Err(Error::Auth {
                    registry: registry.to_owned(),
                    message: "Workload Identity tokens go to an ACR over HTTPS only, and this \
                              registry is reached over plain HTTP (--plain-http)"
                        .into(),
                });
            }
            let aad = wi.aad_token(&self.direct, registry).await?;
            self.remember(aad.expose());
            let refresh = acr::exchange(
                &self.direct,
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
        match &credential {
            Credential::Basic { username, password } => {
                self.remember(password.expose());
                self.remember(
                    &base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{}", password.expose())),
                );
            }
            Credential::RefreshToken(token) => self.remember(token.expose()),
            Credential::Anonymous => {}
        }
        lock(&self.credentials).insert(registry.to_owned(), credential.clone());
        Ok(credential)
    }

    /// What oci-client is to present for `reference` and `op`: a bearer token, basic
    /// credentials for a registry that asks for basic authentication, or nothing.
    pub(super) async fn oci_auth(
        &self,
        reference: &ArtifactRef,
        op: RegistryOperation,
    ) -> Result<RegistryAuth> {
        Ok(match self.credential(&reference.registry).await? {
            Credential::Anonymous => RegistryAuth::Anonymous,
            Credential::Basic { username, password } => match self.challenge(reference).await? {
                Challenge::Bearer { realm, service } => {
                    let token = self
                        .bearer_token(
                            reference,
                            op,
                            (&realm, service.as_deref()),
                            &username,
                            &password,
                        )
                        .await?;
                    self.remember(token.expose());
                    RegistryAuth::Bearer(token.expose().to_owned())
                }
                Challenge::Basic | Challenge::None => {
                    RegistryAuth::Basic(username, password.expose().to_owned())
                }
                Challenge::Other(scheme) => {
                    return Err(Error::Auth {
                        registry: reference.registry.clone(),
                        message: format!(
                            "the registry asks for {scheme:?} authentication, which gate does not speak"
                        ),
                    });
                }
            },
            Credential::RefreshToken(refresh) => {
                let scope = scope(reference, op);
                let token = acr::access_token(
                    &self.direct,
                    &self.base_url(&reference.registry),
                    &reference.registry,
                    &scope,
                    &refresh,
                )
                .await?;
                self.remember(token.expose());
                RegistryAuth::Bearer(token.expose().to_owned())
            }
        })
    }

    /// The `Authorization` header for reading `reference` (cached per repository).
    /// An unreachable registry or token service is transient; a refusal is not.
    pub(super) async fn read_header(
        &self,
        reference: &ArtifactRef,
    ) -> Result<Option<Secret>, Attempt> {
        let key = reference.repository_path();
        if let Some(found) = lock(&self.headers).get(&key) {
            return Ok(found.clone());
        }
        let header = match self.oci_auth(reference, RegistryOperation::Pull).await? {
            RegistryAuth::Bearer(token) => Some(Secret::new(format!("Bearer {token}"))),
            RegistryAuth::Basic(user, pass) => Some(Secret::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            ))),
            // No credentials: an anonymous token, if the registry hands them out.
            RegistryAuth::Anonymous => self
                .oci
                .auth(
                    &reference.to_oci(),
                    &RegistryAuth::Anonymous,
                    RegistryOperation::Pull,
                )
                .await
                .map_err(|e| match self.classify(reference, "authenticate", e) {
                    Attempt::Fail(Error::Registry { message, .. }) => Attempt::Fail(Error::Auth {
                        registry: reference.registry.clone(),
                        message,
                    }),
                    transient => transient,
                })?
                .map(|token| Secret::new(format!("Bearer {token}"))),
        };
        lock(&self.headers).insert(key, header.clone());
        Ok(header)
    }
}

pub(super) fn scope(reference: &ArtifactRef, op: RegistryOperation) -> String {
    match op {
        RegistryOperation::Pull => format!("repository:{}:pull", reference.repository),
        RegistryOperation::Push => format!("repository:{}:pull,push", reference.repository),
    }
}
