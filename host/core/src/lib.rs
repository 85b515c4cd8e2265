//! gate's domain: the resources of a render, the bundles that say which policies
//! judge them, and the report of what was found.
//!
//! This crate has no WebAssembly and does no IO: it parses text it is given,
//! validates bundles, and defines the report that every front door renders.

pub mod bundle;
mod error;
pub mod manifest;
pub mod number;
pub mod report;
pub mod resource;
pub mod selector;
pub mod yaml;

pub use error::{Error, Result};
pub use resource::{Admission, ObjectRef, Operation, Origin, Resource};
