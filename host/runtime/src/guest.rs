//! The wasmtime engine, the store each call runs in, and what a policy may touch.

use crate::bindings::PolicyPre;
use crate::cache::ComponentCache;
use crate::error::{Error, Result};
use crate::limits::Limits;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, ResourceLimiter,
    Store,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

/// How often the epoch advances; the granularity of the time limit.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How much of a policy's stderr (its panic message) is kept for errors.
const STDERR_CAPACITY: usize = 8 * 1024;

/// How the runtime is set up.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Where precompiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// How many instances may run at once (defaults to the number of CPUs).
    pub max_concurrency: Option<usize>,
}

/// The policy host: an engine, a linker, and the component cache.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<GuestState>,
    pub(crate) cache: Option<ComponentCache>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Configures the engine: Cranelift, fuel, epoch interruption and the pooling
    /// allocator, and links WASI with nothing granted.
    pub fn new(config: RuntimeConfig) -> Result<Runtime> {
        let concurrency = config
            .max_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1) as u32;
        let mut pool = PoolingAllocationConfig::default();
        // A few slots per worker: one instance runs per worker at a time, plus the
        // loader's describe/validate calls.
        let slots = concurrency * 4 + 8;
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots)
            .total_tables(slots * 2)
            .max_memory_size(Limits::MAX_MEMORY_BYTES);

        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .parallel_compilation(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm).map_err(Error::Engine)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Engine)?;

        let cache = config
            .cache_dir
            .map(|dir| ComponentCache::new(dir, &engine))
            .transpose()?;
        let ticker = EpochTicker::start(engine.clone())
            .map_err(|e| Error::Engine(wasmtime::Error::new(e)))?;
        Ok(Runtime {
            engine,
            linker,
            cache,
            _ticker: ticker,
        })
    }

    /// Compiles a component, or loads it from the cache.
    pub(crate) fn component(&self, digest: &str, bytes: &[u8]) -> Result<(Component, bool)> {
        if let Some(cache) = &self.cache
            && let Some(component) = cache.load(&self.engine, digest)
        {
            tracing::debug!(%digest, "component loaded from cache");
            return Ok((component, true));
        }
        let started = std::time::Instant::now();
        let component = Component::new(&self.engine, bytes).map_err(|e| Error::Load {
            policy: digest.to_owned(),
            detail: format!("{e:#}"),
        })?;
        tracing::debug!(%digest, elapsed = ?started.elapsed(), "component compiled");
        if let Some(cache) = &self.cache {
            cache.store(digest, &component);
        }
        Ok((component, false))
    }

    /// Links a component and prepares it for fast instantiation.
    pub(crate) fn prepare(&self, component: &Component) -> wasmtime::Result<PolicyPre<GuestState>> {
        PolicyPre::new(self.linker.instantiate_pre(component)?)
    }

    /// A fresh store for one call: empty WASI context, memory limit, fuel and deadline.
    pub(crate) fn store(&self, limits: &Limits, objects: usize) -> Result<Store<GuestState>> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .secure_random(wasmtime_wasi::Deterministic::new(vec![0]))
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![0]))
            .insecure_random_seed(0)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = GuestState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max_bytes: limits.memory_bytes,
                hit: false,
            },
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store
            .set_fuel(limits.fuel_for(objects))
            .map_err(Error::Engine)?;
        let ticks = limits.timeout.as_millis() / EPOCH_TICK.as_millis() + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        Ok(store)
    }
}

/// The state of one store: what the policy's imports may touch.
pub(crate) struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) stderr: MemoryOutputPipe,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers that the cap was hit, so that the error can
/// name the limit rather than the allocation failure it causes.
pub(crate) struct MemoryLimiter {
    max_bytes: usize,
    pub(crate) hit: bool,
}

/// The error a memory grow beyond the limit fails with.
#[derive(Debug)]
pub(crate) struct MemoryLimitHit;

impl std::fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("memory limit reached")
    }
}

impl std::error::Error for MemoryLimitHit {}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Err(wasmtime::Error::new(MemoryLimitHit));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Policies see a clock stopped at the epoch: time cannot change a verdict.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("gate-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
