//! The wasmtime engine, the store each call runs in, and what a policy may touch.

use crate::cache::ComponentCache;
use crate::cache_key::default_key_path;
use crate::contract::ContractPre;
use crate::error::{Error, Result};
use crate::limits::Limits;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, Resource, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, ResourceLimiter,
    Store, StoreContextMut,
};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::sync::io::poll::HostPollable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

/// How often the epoch advances; the granularity of the time limit.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How much of a policy's stderr (its panic message) is kept for errors.
const STDERR_CAPACITY: usize = 8 * 1024;

/// The `wasi:io/poll` interface as wasmtime-wasi links it (guests importing any
/// 0.2.x version resolve to it). Its two blocking functions are replaced.
const WASI_POLL: &str = "wasi:io/poll@0.2.12";

/// How much of a pooled linear memory, and of a table, may stay resident between
/// instances (reset in place rather than unmapped). A policy built with the SDK
/// writes a few hundred KiB: its stack, data and a small heap.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// Linear memories one component may have; together they share its memory limit.
const MEMORIES_PER_COMPONENT: u32 = 4;

/// Core instances (and tables) one component may create: a policy built with
/// the SDK has a handful; wasmtime's default is 10,000.
const MAX_CORE_INSTANCES: usize = 1000;

/// How the linear memory and tables of policy instances are allocated. Every
/// limit holds with either: the memory limit is the store's, not the pool's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InstanceAllocator {
    /// Each instance maps its memory when it is created and unmaps it when it is
    /// dropped; nothing is reserved up front. For a process that runs a render and
    /// exits (the CLI, the Argo CD plugin): a pool costs more to set up and tear
    /// down than such a run saves with it.
    OnDemand,
    /// Slots reserved once at start-up and reused by every instance: a map and an
    /// unmap fewer per instance. For a process that keeps creating instances (the
    /// admission webhook, the Flux controller); the default, as a runtime is
    /// assumed to be long-lived unless its owner says otherwise.
    #[default]
    Pooling,
}

/// How the runtime is set up.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Where precompiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// The file of the key that authenticates cache entries (created on first
    /// use); `None` for `$XDG_CONFIG_HOME/gate/cache.key`. Never inside `cache_dir`.
    pub cache_key: Option<PathBuf>,
    /// With the pooling allocator: how many instances run at once, which sizes
    /// the pool (defaults to the number of CPUs).
    pub max_concurrency: Option<usize>,
    /// How instances get their memory.
    pub allocator: InstanceAllocator,
}

/// The policy host: an engine, a linker, and the component cache.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<GuestState>,
    pub(crate) cache: Option<ComponentCache>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Configures the engine: Cranelift, fuel, epoch interruption and the
    /// instance allocator, and links WASI with nothing granted.
    pub fn new(config: RuntimeConfig) -> Result<Runtime> {
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .parallel_compilation(true);
        if config.allocator == InstanceAllocator::Pooling {
            let concurrency = config
                .max_concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
                .max(1) as u32;
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(concurrency)));
        }
        let engine = Engine::new(&wasm).map_err(Error::Engine)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Engine)?;
        refuse_blocking(&mut linker).map_err(Error::Engine)?;

        let cache = match (config.cache_dir, config.cache_key.or_else(default_key_path)) {
            (Some(dir), Some(key)) => ComponentCache::new(dir, &key, &engine)?,
            (Some(dir), None) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "component cache disabled: no place for its key (set HOME or XDG_CONFIG_HOME)"
                );
                None
            }
            (None, _) => None,
        };
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
        let started = Instant::now();
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

    /// Links a component, checks it against the contract version it was built
    /// for, and prepares it for fast instantiation.
    pub(crate) fn prepare(&self, component: &Component) -> Result<ContractPre, String> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| format!("{e:#}"))?;
        ContractPre::new(component, pre)
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
                total_bytes: 0,
                hit: false,
            },
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store
            .set_fuel(limits.fuel_for(objects))
            .map_err(Error::Engine)?;
        // Bounds what the host lifts out of the guest in one call, before it
        // allocates: string bytes plus, for each list entry, the size of its host
        // value. A million empty violations cost tens of megabytes, not zero.
        store.set_hostcall_fuel(limits.max_output_bytes);
        let ticks = limits.timeout.as_millis() / EPOCH_TICK.as_millis() + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        Ok(store)
    }
}

/// The pooling allocator's slots: a few per worker, as one instance runs per
/// worker at a time, plus the loader's describe and validate calls.
fn pool(concurrency: u32) -> PoolingAllocationConfig {
    let slots = concurrency * 4 + 8;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .total_core_instances(slots * 8)
        .total_memories(slots)
        .total_tables(slots * 2)
        // Calls are synchronous: no fiber stacks (the default reserves 1000, each
        // with a guard page to protect, at start-up).
        .total_stacks(0)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_memory_size(Limits::MAX_MEMORY_BYTES)
        // A slot is reset for its next instance by rewriting, from the
        // component's image, only the pages the last instance wrote (found with
        // PAGEMAP_SCAN on Linux 6.7+), instead of unmapping them all and
        // faulting each in again. Same fresh state, fewer syscalls and page
        // faults per instance. Older kernels fall back to madvise.
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES)
        .pagemap_scan(wasmtime::Enabled::Auto);
    pool
}

/// Replaces the two functions of `wasi:io/poll` that wait (`poll` and
/// `pollable.block`) with ones that return at once when something is ready and
/// otherwise trap with [`Blocked`]. Waiting happens in host code, where neither
/// fuel nor the epoch deadline can stop it; every other way to wait (clock
/// subscriptions, stream readiness) goes through these two.
fn refuse_blocking(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut poll = linker.instance(WASI_POLL)?;
    poll.func_wrap(
        "poll",
        |mut store: StoreContextMut<'_, GuestState>,
         (pollables,): (Vec<Resource<DynPollable>>,)| {
            let table = &mut store.data_mut().table;
            let mut ready = Vec::new();
            for (index, pollable) in (0u32..).zip(pollables) {
                if HostPollable::ready(table, pollable)? {
                    ready.push(index);
                }
            }
            if ready.is_empty() {
                return Err(wasmtime::Error::new(Blocked {
                    call: "wasi:io/poll.poll",
                }));
            }
            Ok((ready,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, GuestState>, (pollable,): (Resource<DynPollable>,)| {
            if HostPollable::ready(&mut store.data_mut().table, pollable)? {
                Ok(())
            } else {
                Err(wasmtime::Error::new(Blocked {
                    call: "wasi:io/poll.pollable.block",
                }))
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The error a call that would wait fails with.
#[derive(Debug)]
pub(crate) struct Blocked {
    /// The WASI function.
    pub(crate) call: &'static str,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} would block", self.call)
    }
}

impl std::error::Error for Blocked {}

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

/// Caps the linear memory of the whole component (every memory of the store
/// together) and remembers that the cap was hit, so that the error can name the
/// limit rather than the allocation failure it causes.
pub(crate) struct MemoryLimiter {
    max_bytes: usize,
    /// The sum of the sizes of every memory of the store.
    total_bytes: usize,
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
    /// Called when a memory is created (`current` 0) and each time one grows.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .total_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.max_bytes {
            self.hit = true;
            return Err(wasmtime::Error::new(MemoryLimitHit));
        }
        self.total_bytes = total;
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

    /// The pooling allocator caps memories per component; so does this, for
    /// every allocator: each memory reserves its own address space.
    fn memories(&self) -> usize {
        MEMORIES_PER_COMPONENT as usize
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_CORE_INSTANCES
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
                // The epoch counts ticks of wall time since the start, not wake-ups:
                // on a loaded machine this thread wakes late, and one increment
                // per wake-up would stretch a 10 ms limit many times over (until
                // fuel, not time, stopped a loop).
                let started = Instant::now();
                let mut ticks: u128 = 0;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(EPOCH_TICK);
                    let due = started.elapsed().as_nanos() / EPOCH_TICK.as_nanos();
                    while ticks < due {
                        engine.increment_epoch();
                        ticks += 1;
                    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Three core instances, each with one memory of 8 MiB (128 pages).
    const THREE_MEMORIES: &str = r#"
        (component
          (core module $a (memory 128))
          (core module $b (memory 128))
          (core module $c (memory 128))
          (core instance (instantiate $a))
          (core instance (instantiate $b))
          (core instance (instantiate $c)))
    "#;

    fn instantiate(
        runtime: &Runtime,
        wat: &str,
        memory_mib: usize,
    ) -> (wasmtime::Result<()>, bool) {
        let bytes = wat::parse_str(wat).unwrap();
        // The pooling allocator refuses some components when they are compiled.
        let component = match Component::new(&runtime.engine, bytes) {
            Ok(component) => component,
            Err(error) => return (Err(error), false),
        };
        let limits = Limits {
            memory_bytes: memory_mib << 20,
            ..Limits::default()
        };
        let mut store = runtime.store(&limits, 0).unwrap();
        let result = runtime.linker.instantiate(&mut store, &component).map(drop);
        (result, store.data().limiter.hit)
    }

    const ALLOCATORS: [InstanceAllocator; 2] =
        [InstanceAllocator::OnDemand, InstanceAllocator::Pooling];

    fn runtime(allocator: InstanceAllocator) -> Runtime {
        Runtime::new(RuntimeConfig {
            allocator,
            ..RuntimeConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn the_memory_limit_holds_for_every_memory_of_a_component_together() {
        for allocator in ALLOCATORS {
            let runtime = runtime(allocator);
            // Each memory (8 MiB) is under 16 MiB; together (24 MiB) they are over.
            let (result, hit) = instantiate(&runtime, THREE_MEMORIES, 16);
            assert!(
                hit,
                "{allocator:?}: the limiter must count the memories together"
            );
            assert!(
                result
                    .unwrap_err()
                    .downcast_ref::<MemoryLimitHit>()
                    .is_some()
            );
            let (result, hit) = instantiate(&runtime, THREE_MEMORIES, 24);
            assert!(
                result.is_ok() && !hit,
                "{allocator:?}: 24 MiB holds all three"
            );
        }
    }

    #[test]
    fn a_component_has_at_most_four_memories_whatever_the_allocator() {
        let memories = |n: usize| {
            let modules: String = (0..n)
                .map(|i| {
                    format!("(core module $m{i} (memory 0)) (core instance (instantiate $m{i}))")
                })
                .collect();
            format!("(component {modules})")
        };
        for allocator in ALLOCATORS {
            let runtime = runtime(allocator);
            let (four, _) = instantiate(&runtime, &memories(4), 1);
            assert!(four.is_ok(), "{allocator:?}: {four:?}");
            let (five, _) = instantiate(&runtime, &memories(5), 1);
            assert!(
                five.is_err(),
                "{allocator:?}: a fifth memory must be refused"
            );
        }
    }
}
