//! `gate flux check`: the controller's judgement, once, for CI and pre-sync Jobs.
//! It reads a source's artifact through the API (or takes a URL and digest),
//! and judges it exactly as the controller would. It does not publish anything,
//! so unlike the controller it does not decide what Flux applies.

use crate::error::{Error, Result};
use crate::flux_api::{SourceKind, source_artifact};
use crate::judge::Judgement;
use crate::pipeline::{Pipeline, Request};
use gate_core::report::RunContext;
use gate_engine::evaluate::EvaluateOptions;
use gate_engine::loader::LoadedBundle;
use gate_runtime::Runtime;
use kube::api::{Api, DynamicObject};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where the artifact to check comes from.
#[derive(Debug, Clone)]
pub enum CheckSource {
    /// A Flux source object, read through the Kubernetes API.
    Object {
        /// Its kind.
        kind: SourceKind,
        /// Its name.
        name: String,
        /// Its namespace.
        namespace: String,
    },
    /// An artifact URL and the digest it must have.
    Url {
        /// The tar.gz URL.
        url: String,
        /// `sha256:<hex>`.
        digest: String,
        /// The source revision it holds, when the caller knows it.
        revision: Option<String>,
    },
}

/// A checked artifact: the judgement, and the digest of the source artifact
/// it was made from (verified before it was read).
#[derive(Debug)]
pub struct Checked {
    /// The judgement.
    pub judgement: Judgement,
    /// `sha256:<hex>` of the source artifact.
    pub source_digest: String,
}

/// Resolves the source, then downloads, verifies, extracts, renders and judges it.
pub async fn check(
    source: &CheckSource,
    path: &str,
    pipeline: &Pipeline,
    runtime: Arc<Runtime>,
    bundle: Arc<LoadedBundle>,
    default_namespace: Option<String>,
) -> Result<Checked> {
    let (request, revision, label) = match source {
        CheckSource::Url {
            url,
            digest,
            revision,
        } => (
            Request {
                url: url.clone(),
                digest: digest.clone(),
                path: path.to_owned(),
            },
            revision.clone(),
            url.clone(),
        ),
        CheckSource::Object {
            kind,
            name,
            namespace,
        } => {
            let client = kube::Client::try_default()
                .await
                .map_err(|source| Error::Kube {
                    action: "connect to the Kubernetes API ($KUBECONFIG or in-cluster)".into(),
                    source,
                })?;
            let api: Api<DynamicObject> =
                Api::namespaced_with(client, namespace, &kind.api_resource());
            let object = api.get(name).await.map_err(|source| Error::Kube {
                action: format!("get {kind} {namespace}/{name}"),
                source,
            })?;
            let not_ready = || Error::SourceNotReady {
                kind: kind.to_string(),
                namespace: namespace.clone(),
                name: name.clone(),
            };
            let artifact = source_artifact(*kind, &object)?.ok_or_else(not_ready)?;
            let digest = artifact.digest.clone().ok_or_else(not_ready)?;
            (
                Request {
                    url: artifact.url,
                    digest,
                    path: path.to_owned(),
                },
                Some(artifact.revision),
                format!("{kind}/{namespace}/{name}"),
            )
        }
    };
    let options = EvaluateOptions {
        default_namespace,
        now: chrono::Utc::now(),
        context: RunContext {
            front_door: "flux".into(),
            revision,
            metadata: BTreeMap::from([
                ("flux.source".to_owned(), label),
                ("flux.path".to_owned(), path.to_owned()),
                ("flux.sourceDigest".to_owned(), request.digest.clone()),
            ]),
            ..RunContext::default()
        },
        ..EvaluateOptions::default()
    };
    let judgement = pipeline.run(&request, runtime, bundle, options).await?;
    Ok(Checked {
        judgement,
        source_digest: request.digest,
    })
}
