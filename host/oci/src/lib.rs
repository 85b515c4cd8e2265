//! gate-oci: policies from OCI registries.
//!
//! A policy is published as an OCI artifact ([`manifest`]): one WebAssembly
//! component layer and a config blob with the policy's self-description. This
//! crate pushes and pulls such artifacts ([`registry`], [`client`]), checking the
//! sha256 of the manifest and of every blob at every pull; keeps them in a local
//! content-addressed store ([`store`]) for offline runs and registry outages;
//! moves them to air-gapped sites as OCI image layout tarballs ([`layout`]);
//! finds registry credentials ([`auth`]: docker config and helpers, basic, bearer
//! tokens, ACR Workload Identity); and verifies signatures (cosign, Sigstore
//! bundles, Notation) against a trust policy ([`verify`]), failing closed.

pub mod auth;
pub mod client;
pub mod digest;
mod error;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod progress;
pub mod reference;
pub mod registry;
pub mod retry;
pub mod store;
pub mod verify;

pub use client::{Client, Pulled};
pub use error::{Error, Result};
pub use reference::ArtifactRef;
pub use registry::{Registry, RegistryOptions};
pub use store::Store;
pub use verify::trust::TrustPolicy;

/// Makes ring the process's rustls crypto provider. Call once at start-up, before
/// any TLS connection; later calls do nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
