//! The policies and bundles compiled into the gate binary.

/// A policy component embedded at build time.
pub struct BuiltinPolicy {
    /// Its crate name (`builtin:NAME`).
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
    /// The `sha256:` digest of `wasm`, computed when it was embedded.
    pub digest: &'static str,
}

/// A bundle file embedded at build time.
pub struct BuiltinBundle {
    /// Its file stem (`builtin:NAME`).
    pub name: &'static str,
    /// The bundle YAML.
    pub yaml: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The embedded policy of this name.
pub fn policy(name: &str) -> Option<&'static BuiltinPolicy> {
    POLICIES.iter().find(|p| p.name == name)
}

/// The embedded bundle of this name.
pub fn bundle(name: &str) -> Option<&'static BuiltinBundle> {
    BUNDLES.iter().find(|b| b.name == name)
}

/// The bundle `gate check` uses when none is given.
pub const DEFAULT_BUNDLE: &str = "default";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_digest_is_the_digest_of_its_bytes() {
        assert!(!POLICIES.is_empty());
        for policy in POLICIES {
            assert_eq!(
                policy.digest,
                gate_runtime::digest_of(policy.wasm),
                "{}",
                policy.name
            );
        }
    }
}
