//! Options of the policy runtime, shared by every command and front door that runs policies.

use clap::Args;
use gate_runtime::{InstanceAllocator, Runtime, RuntimeConfig};
use std::path::PathBuf;

/// The size of render (bytes of input) from which a one-shot run pools its
/// instances (see [`RuntimeArgs::runtime_for`]): about four batches of objects.
pub const POOLED_FROM: u64 = 1 << 20;

/// Options of the policy runtime, shared by every command that runs policies.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Directory of the precompiled-component cache
    /// [default: $XDG_CACHE_HOME/gate or ~/.cache/gate].
    #[arg(long, env = "GATE_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,

    /// The key that authenticates cache entries, created on first use; never
    /// inside the cache [default: $XDG_CONFIG_HOME/gate/cache.key or
    /// ~/.config/gate/cache.key].
    #[arg(long, env = "GATE_CACHE_KEY", global = true)]
    pub cache_key: Option<PathBuf>,

    /// Compile every policy, and cache nothing.
    #[arg(long, global = true)]
    pub no_cache: bool,
}

impl RuntimeArgs {
    /// The cache directory in use, if any.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(base.join("gate").join("components"))
        })
    }

    /// Starts the runtime for a run that judges a render and exits: instances
    /// are allocated on demand.
    pub fn runtime(&self) -> anyhow::Result<Runtime> {
        self.runtime_with(InstanceAllocator::OnDemand)
    }

    /// Starts the runtime for a run that judges one render of `input_bytes`
    /// bytes and exits: instances allocated on demand for a small render, where
    /// setting up a pool costs more than it saves; a pool of reused slots for a
    /// render of more than [`POOLED_FROM`] bytes, whose hundreds of instances
    /// would otherwise each map and unmap their memory.
    pub fn runtime_for(&self, input_bytes: u64) -> anyhow::Result<Runtime> {
        self.runtime_with(if input_bytes > POOLED_FROM {
            InstanceAllocator::Pooling
        } else {
            InstanceAllocator::OnDemand
        })
    }

    /// Starts the runtime with the allocator of choice: a long-running front door
    /// that keeps creating instances (the webhook) takes
    /// [`InstanceAllocator::Pooling`].
    pub fn runtime_with(&self, allocator: InstanceAllocator) -> anyhow::Result<Runtime> {
        Ok(Runtime::new(self.config(allocator))?)
    }

    /// The runtime's configuration from these options, for a front door that
    /// starts the runtime itself and reports its own error.
    pub fn config(&self, allocator: InstanceAllocator) -> RuntimeConfig {
        RuntimeConfig {
            cache_dir: self.cache_dir(),
            cache_key: self.cache_key.clone(),
            allocator,
            ..RuntimeConfig::default()
        }
    }
}
