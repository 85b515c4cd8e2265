//! gate's engine: everything between a front door and a report.
//!
//! Every front door (the `check` command, the Argo CD plugin, the Flux gate, the
//! admission webhook) is a thin adapter onto the same steps: load a bundle
//! ([`loader::load_bundle`], resolving OCI modules through [`oci_resolver`]), read
//! a render ([`sources`]), judge it with one call ([`evaluate::evaluate`]), and
//! render the one [`gate_core::report::Report`] it returns ([`output`]). The
//! GitOps front doors render application directories with [`render`], and
//! put a report in one bounded line with [`brief`].

pub mod brief;
pub mod builtin;
pub mod evaluate;
pub mod loader;
pub mod module_args;
pub mod oci_resolver;
pub mod output;
pub mod registry_args;
pub mod render;
pub mod runtime_args;
pub mod sources;

pub use evaluate::{EvaluateOptions, evaluate, evaluate_ref};
pub use loader::{BundleRef, LoadedBundle, load_bundle};
pub use module_args::ModuleArgs;
pub use runtime_args::RuntimeArgs;
