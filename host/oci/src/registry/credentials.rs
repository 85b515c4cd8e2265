//! What the registry connection presents: the credential of each registry, and
//! the `Authorization` header of reads (bearer tokens through oci-client).

use super::transport::classify;
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
    pub(super) async fn oci_auth(
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
    pub(super) async fn read_header(
        &self,
        reference: &ArtifactRef,
    ) -> Result<Option<Secret>, Attempt> {
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
}

pub(super) fn scope(reference: &ArtifactRef, op: RegistryOperation) -> String {
    match op {
        RegistryOperation::Pull => format!("repository:{}:pull", reference.repository),
        RegistryOperation::Push => format!("repository:{}:pull,push", reference.repository),
    }
}
