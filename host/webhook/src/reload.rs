//! Hot reload: load and verify a new bundle beside the one served, then swap.
//!
//! One thread owns loading. It loads at start, on a trigger (SIGHUP), and when a
//! watched file (the bundle, its lock file, its trust policy) changes: every
//! poll it reads them and compares their digests. A new bundle is swapped in
//! whole; a bundle that fails to load or verify leaves the old one serving, is
//! logged, and raises `gate_reload_failing`. Polling rather than inotify: a
//! Kubernetes ConfigMap volume changes by swapping a symlink, which is a change
//! of the files' content here and needs no special case.

use crate::error::{Error, Result};
use crate::metrics::ReloadTarget;
use crate::state::AppState;
use gate_engine::LoadedBundle;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a changed file must stay the same before it is loaded: an editor or
/// a `cp` may be halfway through writing it.
const SETTLE: Duration = Duration::from_millis(250);

/// How often a server with no usable bundle tries again, files unchanged (a
/// registry may have been unreachable).
const RETRY: Duration = Duration::from_secs(15);

/// Where the bundle comes from and how to load it.
pub struct BundleSource {
    /// The bundle reference, for logs.
    pub label: String,
    /// Files whose change means a reload. Missing files count as a state too.
    pub watched: Vec<PathBuf>,
    /// Loads and verifies the bundle (resolve, pull, verify, compile, validate).
    pub load: Box<dyn Fn() -> Result<LoadedBundle> + Send>,
}

/// What the loader thread is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Load the bundle again now, changed or not.
    Reload,
    /// Stop the thread.
    Stop,
}

/// The loader thread.
pub struct Reloader {
    sender: Sender<Trigger>,
    thread: Option<JoinHandle<()>>,
}

impl Reloader {
    /// Starts the thread; it loads the bundle first, then watches.
    pub fn start(state: Arc<AppState>, source: BundleSource, poll: Duration) -> Result<Reloader> {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("gate-reload".into())
            .spawn(move || watch(&state, &source, poll, &receiver))
            .map_err(|source| Error::Start {
                what: "bundle loader thread",
                source,
            })?;
        Ok(Reloader {
            sender,
            thread: Some(thread),
        })
    }

    /// A handle that asks for a reload.
    pub fn sender(&self) -> Sender<Trigger> {
        self.sender.clone()
    }

    /// Stops the thread once the load under way, if any, is over.
    pub fn stop(mut self) {
        let _ = self.sender.send(Trigger::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(
    state: &AppState,
    source: &BundleSource,
    poll: Duration,
    receiver: &mpsc::Receiver<Trigger>,
) {
    let mut seen = fingerprint(&source.watched);
    let mut attempted = Instant::now();
    load(state, source);
    loop {
        match receiver.recv_timeout(poll) {
            Ok(Trigger::Reload) => {
                tracing::info!(bundle = %source.label, "reload requested");
                seen = fingerprint(&source.watched);
                attempted = Instant::now();
                load(state, source);
            }
            Ok(Trigger::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                let now = fingerprint(&source.watched);
                if now != seen {
                    std::thread::sleep(SETTLE);
                    if fingerprint(&source.watched) != now {
                        continue;
                    }
                    tracing::info!(bundle = %source.label, "bundle files changed");
                    seen = now;
                } else if state.bundle.load().is_some() || attempted.elapsed() < RETRY {
                    continue;
                }
                attempted = Instant::now();
                load(state, source);
            }
        }
    }
}

/// Loads the bundle and serves it, or keeps the old one and says why.
fn load(state: &AppState, source: &BundleSource) {
    let started = Instant::now();
    match (source.load)() {
        Ok(bundle) => {
            for notice in &bundle.notices {
                tracing::warn!(bundle = %bundle.name, policy = notice.policy.as_deref().unwrap_or_default(), "{}", notice.message);
            }
            tracing::info!(
                bundle = %bundle.name,
                digest = %bundle.digest,
                policies = bundle.policies.len(),
                admission_policies = bundle.admission_policies.len(),
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "bundle loaded and served"
            );
            state.serve(Arc::new(bundle));
            state.metrics.reload(ReloadTarget::Bundle, true);
        }
        Err(error) => {
            let serving = state
                .bundle
                .load()
                .as_ref()
                .map_or_else(|| "nothing (not ready)".to_owned(), |b| b.digest.clone());
            tracing::error!(
                bundle = %source.label,
                error = %error,
                still_serving = %serving,
                "bundle load failed; the bundle served before, if any, stays"
            );
            state.load_failed(error.to_string());
            state.metrics.reload(ReloadTarget::Bundle, false);
        }
    }
}

/// The digest of each watched file's content (`None` when unreadable).
fn fingerprint(files: &[PathBuf]) -> Vec<Option<String>> {
    files
        .iter()
        .map(|path| {
            std::fs::read(path)
                .ok()
                .map(|b| gate_runtime::digest_of(&b))
        })
        .collect()
}
