//! What every request shares: the policy runtime, the bundle being served
//! (swapped whole on reload), the metrics and the request settings.

use crate::metrics::Metrics;
use arc_swap::ArcSwapOption;
use gate_engine::LoadedBundle;
use gate_runtime::Runtime;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The limits of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSettings {
    /// How long gate may take to answer: below the API server's webhook timeout.
    pub deadline: Duration,
    /// The largest body read.
    pub max_body_bytes: usize,
}

impl Default for RequestSettings {
    /// 8 s of the API server's 10 s default timeout; 3 MiB, the API server's own
    /// request limit.
    fn default() -> Self {
        RequestSettings {
            deadline: Duration::from_secs(8),
            max_body_bytes: 3 << 20,
        }
    }
}

/// The state behind the router.
pub struct AppState {
    /// The policy runtime (engine, cache, pooling allocator).
    pub runtime: Arc<Runtime>,
    /// The bundle served. A request takes it once, at arrival, and keeps it to the
    /// end: a reload never splits a request between two bundles.
    pub bundle: ArcSwapOption<LoadedBundle>,
    /// The metrics.
    pub metrics: Metrics,
    /// The limits of each request.
    pub settings: RequestSettings,
    last_load_error: ArcSwapOption<String>,
    stopping: AtomicBool,
}

impl AppState {
    /// A state with no bundle yet (not ready).
    pub fn new(runtime: Arc<Runtime>, settings: RequestSettings) -> AppState {
        let metrics = Metrics::new();
        metrics.not_ready();
        AppState {
            runtime,
            bundle: ArcSwapOption::empty(),
            metrics,
            settings,
            last_load_error: ArcSwapOption::empty(),
            stopping: AtomicBool::new(false),
        }
    }

    /// Serves `bundle` from now on; requests already running keep theirs.
    pub fn serve(&self, bundle: Arc<LoadedBundle>) {
        self.metrics.serving(&bundle.name, &bundle.digest);
        self.bundle.store(Some(bundle));
        self.last_load_error.store(None);
    }

    /// Records why the last load failed; the bundle served, if any, stays.
    pub fn load_failed(&self, error: String) {
        self.last_load_error.store(Some(Arc::new(error)));
    }

    /// Why the last load failed, unless a load succeeded since.
    pub fn last_load_error(&self) -> Option<Arc<String>> {
        self.last_load_error.load_full()
    }

    /// Marks the server as shutting down: it stops being ready.
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.metrics.not_ready();
    }

    /// Is the server shutting down?
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}
