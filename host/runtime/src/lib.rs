//! The policy host: runs gate policies, WebAssembly components, under hard limits.
//!
//! - [`Runtime`] owns the wasmtime engine (fuel, epoch interruption, the
//!   instance allocator), the linker with an empty WASI context, and the disk cache of
//!   precompiled components.
//! - [`CompiledPolicy`] is one loaded component: its self-description and an
//!   `InstancePre` from which every batch gets a fresh instance. Components built
//!   against `gate:policy@0.2.0` and `@0.1.0` both run (see `contract`).
//! - [`evaluate_render`] judges every object of a render with every bound policy,
//!   in parallel, and returns the findings and errors for a report.

mod bindings;
mod cache;
mod cache_file;
mod cache_key;
mod cache_records;
mod contract;
mod engine;
mod error;
mod guest;
mod limits;
mod policy;

pub use cache::ComponentCache;
pub use cache_key::default_key_path;
pub use engine::{BoundPolicy, RenderOptions, RenderOutcome, RunningPolicies, evaluate_render};
pub use error::{Error, LimitKind, Result};
pub use guest::{InstanceAllocator, Runtime, RuntimeConfig};
pub use limits::Limits;
pub use policy::{CallContext, CompiledPolicy, SettingsProblem, Verdict, digest_of};
