//! gate's Argo CD config-management plugin: a thin adapter that owns the CMP
//! contract and nothing else.
//!
//! Argo CD's sidecar runs `gate argocd generate` in the app's directory with the
//! build environment, the Application's parameters and its plugin env. This crate
//! reads them ([`env`]), lets the platform's configuration choose the bundle and
//! the mode ([`config`], [`selection`]), renders and judges the app through the
//! engine every front door shares ([`gate_engine`]), and honours the contract:
//! the whole render on stdout and exit 0 when allowed; otherwise nothing on
//! stdout, a non-zero exit, and a short plain-text reason on stderr
//! ([`condition`]) with the full report in a file ([`report_file`]). When the
//! configuration asks for it, every judged render also leaves a signed
//! evaluation record ([`attest`]); failing to write one fails the generate.

pub mod annotate;
pub mod attest;
pub mod command;
pub mod condition;
pub mod config;
pub mod env;
pub mod error;
pub mod generate;
mod pattern;
pub mod report_file;
pub mod selection;

pub use command::ArgocdCommand;
pub use error::{Error, Result};
