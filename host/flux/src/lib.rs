//! gate's Flux front door: a controller that lets kustomize-controller apply only
//! the revisions gate approved.
//!
//! A [`crd::Gate`] names a Flux source, a path and a bundle. For each new source
//! revision the controller downloads `status.artifact.url` and checks its digest
//! before reading it ([`fetch`]), extracts it refusing anything unsafe
//! ([`extract`]), renders the path and judges the render with the engine
//! ([`judge`], [`pipeline`]), and, only when the engine allows it, packs exactly
//! the judged objects as Flux packs artifacts ([`pack`]), stores ([`storage`])
//! and serves them ([`server`]), and points the Gate's `ExternalArtifact` at
//! them ([`reconcile`]). A denied revision is never stored nor served: the
//! `ExternalArtifact` keeps the last approved artifact and says why in `Ready`.
//! With a signing key, every judged revision also leaves a signed evaluation
//! record ([`record`]) stored and served beside the artifacts.
//!
//! The crate is an adapter: loading bundles, judging and reporting are the
//! engine's ([`gate_engine`]).

pub mod bundles;
pub mod check;
pub mod config;
pub mod controller;
pub mod crd;
pub mod digest;
pub mod error;
pub mod events;
pub mod extract;
pub mod fetch;
pub mod flux_api;
pub mod judge;
pub mod pack;
pub mod pipeline;
pub mod reconcile;
pub mod record;
pub mod server;
pub mod status;
pub mod storage;

pub use error::{Error, Result};
