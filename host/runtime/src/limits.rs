//! Hard limits on one evaluation.

use gate_core::bundle::LimitsSpec;
use std::time::Duration;

/// Limits applied to every call into a policy: `describe`, `validate-settings`
/// and `evaluate` alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for one call (a batch), enforced by epoch interruption.
    pub timeout: Duration,
    /// Fuel per object judged; a batch of `n` objects gets `base_fuel + n * fuel_per_object`.
    pub fuel_per_object: u64,
    /// Fuel for the fixed work of a call (decoding settings, building the policy).
    pub base_fuel: u64,
    /// Linear memory of the whole component (all its memories together), in bytes.
    pub memory_bytes: usize,
    /// What one call may return, as the host lifts it: string bytes plus the
    /// host size of every list entry (wasmtime's hostcall fuel).
    pub max_output_bytes: usize,
}

impl Limits {
    /// The most memory a bundle may grant a policy; the pooling allocator reserves
    /// this much address space per slot.
    pub const MAX_MEMORY_BYTES: usize = 512 << 20;

    /// Applies the overrides of a bundle.
    pub fn with_spec(self, spec: LimitsSpec) -> Limits {
        let memory = spec.memory_mib.map_or(self.memory_bytes, |mib| {
            (mib as usize).saturating_mul(1 << 20)
        });
        Limits {
            timeout: spec.timeout_ms.map_or(self.timeout, Duration::from_millis),
            fuel_per_object: spec.fuel_per_object.unwrap_or(self.fuel_per_object),
            base_fuel: self.base_fuel,
            memory_bytes: memory.min(Self::MAX_MEMORY_BYTES),
            max_output_bytes: spec.max_output_kib.map_or(self.max_output_bytes, |kib| {
                (kib as usize).saturating_mul(1024)
            }),
        }
    }

    /// The fuel for a call judging `objects` objects.
    pub fn fuel_for(&self, objects: usize) -> u64 {
        self.base_fuel
            .saturating_add(self.fuel_per_object.saturating_mul(objects as u64))
    }
}

impl Default for Limits {
    /// Generous for any honest policy (a typical evaluation uses well under 1% of
    /// each), small enough that a hostile one is stopped in about a second.
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(2),
            fuel_per_object: 50_000_000,
            base_fuel: 200_000_000,
            memory_bytes: 64 << 20,
            max_output_bytes: 1 << 20,
        }
    }
}
