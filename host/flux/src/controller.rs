//! `gate flux serve`: the controller and its artifact server in one process.

use crate::bundles::BundleCache;
use crate::config::PlatformConfig;
use crate::crd::{GATE_LABEL, Gate};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::flux_api::{ExternalArtifact, SourceKind};
use crate::pipeline::Pipeline;
use crate::reconcile::{Context, error_policy, reconcile};
use crate::storage::Storage;
use futures::StreamExt;
use gate_engine::registry_args::RegistryArgs;
use gate_runtime::Runtime;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The platform configuration file (bundles per namespace).
    pub config: PathBuf,
    /// Where approved artifacts are stored.
    pub storage_path: PathBuf,
    /// Where the artifact server listens.
    pub storage_addr: SocketAddr,
    /// The base URL kustomize-controller reaches the artifact server at.
    pub storage_adv_addr: String,
    /// Approved artifacts kept per Gate.
    pub retention: usize,
    /// Download, verify, extract, render and judge, with their limits.
    pub pipeline: Pipeline,
    /// Only this namespace, instead of all.
    pub watch_namespace: Option<String>,
    /// How often an unchanged Gate is looked at again.
    pub interval: Duration,
    /// How soon a Gate whose judgement failed is tried again.
    pub retry: Duration,
    /// Gates judged at the same time (as Flux controllers' `--concurrent`).
    pub concurrent: u16,
    /// Registry options for bundles with OCI modules.
    pub registry: RegistryArgs,
    /// Signs an evaluation record of every judged revision, when given.
    pub attester: Option<Arc<gate_evidence::Attester>>,
}

/// Runs the controller until SIGTERM or Ctrl-C.
pub async fn serve(options: ServeOptions, runtime: Runtime) -> Result<()> {
    let config = PlatformConfig::load(&options.config)?;
    let client = kube::Client::try_default()
        .await
        .map_err(|source| Error::Kube {
            action: "connect to the Kubernetes API (in-cluster or $KUBECONFIG)".into(),
            source,
        })?;
    let storage = Arc::new(Storage::new(
        options.storage_path.clone(),
        &options.storage_adv_addr,
        options.retention,
    )?);
    let listener = tokio::net::TcpListener::bind(options.storage_addr)
        .await
        .map_err(|source| Error::Io {
            action: "listen on",
            path: options.storage_addr.to_string().into(),
            source,
        })?;
    tracing::info!("serving artifacts on {}", options.storage_addr);
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(
        listener,
        storage.clone(),
        async move {
            let _ = server_stopped.await;
        },
    ));

    let bundles = BundleCache::new(Arc::new(runtime), options.registry.clone(), false);
    tokio::task::block_in_place(|| warm_up(&config, &bundles));
    let context = Arc::new(Context {
        client: client.clone(),
        config,
        bundles,
        storage: storage.clone(),
        pipeline: options.pipeline,
        events: Events::new(client.clone(), "gate-flux", std::env::var("POD_NAME").ok()),
        interval: options.interval,
        retry: options.retry,
        attester: options.attester.clone(),
    });

    let (gates, artifacts) = match &options.watch_namespace {
        Some(ns) => (
            Api::<Gate>::namespaced(client.clone(), ns),
            Api::<ExternalArtifact>::namespaced(client.clone(), ns),
        ),
        None => (
            Api::<Gate>::all(client.clone()),
            Api::<ExternalArtifact>::all(client.clone()),
        ),
    };
    let mut controller = Controller::new(gates, watcher::Config::default())
        .owns(artifacts, watcher::Config::default().labels(GATE_LABEL));
    let store = controller.store();
    for kind in SourceKind::ALL {
        let resource = kind.api_resource();
        let api = match &options.watch_namespace {
            Some(ns) => Api::<DynamicObject>::namespaced_with(client.clone(), ns, &resource),
            None => Api::<DynamicObject>::all_with(client.clone(), &resource),
        };
        let gates = store.clone();
        controller =
            controller.watches_with(api, resource, watcher::Config::default(), move |source| {
                gates_judging(&gates, kind, &source)
            });
    }
    let janitor = tokio::spawn(sweep_orphans(store, storage));
    controller
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!("reconciled {object}"),
                Err(e) => tracing::warn!("{e}"),
            }
        })
        .await;
    janitor.abort();
    let _ = stop_server.send(());
    let _ = server.await;
    Ok(())
}

/// Loads every configured bundle once at start, so a broken one shows in the log
/// at once (its Gates will report it too).
fn warm_up(config: &PlatformConfig, bundles: &BundleCache) {
    for (name, reference) in config.bundles() {
        match bundles.get(reference) {
            Ok(bundle) => tracing::info!("bundle {name} ({reference}) loaded: {}", bundle.digest),
            Err(e) => tracing::error!("bundle {name}: {e}"),
        }
    }
}

/// The Gates that judge a source object.
fn gates_judging(
    gates: &Store<Gate>,
    kind: SourceKind,
    source: &DynamicObject,
) -> Vec<ObjectRef<Gate>> {
    let namespace = source.namespace();
    let name = source.name_any();
    gates
        .state()
        .iter()
        .filter(|g| {
            g.namespace() == namespace
                && g.spec.source_ref.kind == kind
                && g.spec.source_ref.name == name
        })
        .map(|g| ObjectRef::from_obj(g.as_ref()))
        .collect()
}

/// Removes the stored artifacts of Gates that no longer exist, every ten minutes.
async fn sweep_orphans(gates: Store<Gate>, storage: Arc<Storage>) {
    if gates.wait_until_ready().await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let live: std::collections::HashSet<(String, String)> = gates
            .state()
            .iter()
            .map(|g| (g.namespace().unwrap_or_default(), g.name_any()))
            .collect();
        for (namespace, name) in storage.objects() {
            if !live.contains(&(namespace.clone(), name.clone())) {
                match storage.remove_object(&namespace, &name) {
                    Ok(()) => {
                        tracing::info!("removed the artifacts of deleted Gate {namespace}/{name}")
                    }
                    Err(e) => tracing::warn!("{e}"),
                }
            }
        }
    }
}
