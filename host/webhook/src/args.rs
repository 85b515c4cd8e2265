//! `gate serve`: the options, and starting everything in order.

use crate::error::{Error, Result};
use crate::reload::{BundleSource, Reloader};
use crate::server::{ServerOptions, serve};
use crate::state::{AppState, RequestSettings};
use crate::tls::TlsFiles;
use clap::Args;
use gate_engine::ModuleArgs;
use gate_engine::loader::BundleRef;
use gate_engine::oci_resolver::TRUST_POLICY_FILES;
use gate_engine::runtime_args::RuntimeArgs;
use gate_runtime::{InstanceAllocator, Runtime};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Serve the admission webhook: judge AdmissionReviews with a bundle, over TLS.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The bundle: a bundle file (reloaded when it or its lock file changes), or `builtin:NAME`.
    #[arg(long, short, env = "GATE_BUNDLE", default_value = "builtin:default")]
    pub bundle: BundleRef,

    /// The serving certificate chain (PEM), e.g. cert-manager's `tls.crt`.
    #[arg(long, env = "GATE_TLS_CERT")]
    pub tls_cert: PathBuf,

    /// The serving certificate's private key (PEM), e.g. `tls.key`.
    #[arg(long, env = "GATE_TLS_KEY")]
    pub tls_key: PathBuf,

    /// The address to listen on.
    #[arg(long, env = "GATE_LISTEN", default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,

    /// How long gate may take to answer a review, below the webhook's
    /// `timeoutSeconds` (10 s by default). Past it, the request is denied with a
    /// message naming the policy still running. `500ms`, `8s`, `1m`.
    #[arg(long, default_value = "8s", value_parser = parse_duration)]
    pub deadline: Duration,

    /// The largest request body read, in bytes (the API server's own limit is 3 MiB).
    #[arg(long, default_value_t = 3 << 20)]
    pub max_body_bytes: usize,

    /// How often the bundle, lock, trust policy and certificate files are checked for a change.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub watch_interval: Duration,

    /// How long requests in flight may take to finish after SIGTERM.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Where OCI modules come from.
    #[command(flatten)]
    pub modules: ModuleArgs,

    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

impl ServeArgs {
    /// Starts the loader, then serves until SIGTERM.
    pub fn run(self) -> Result<()> {
        let runtime = Arc::new(
            // Every request creates instances: a pool pays for itself.
            Runtime::new(self.runtime.config(InstanceAllocator::Pooling))
                .map_err(Error::PolicyRuntime)?,
        );
        let state = Arc::new(AppState::new(
            runtime.clone(),
            RequestSettings {
                deadline: self.deadline,
                max_body_bytes: self.max_body_bytes,
            },
        ));
        let options = ServerOptions {
            listen: self.listen,
            tls: TlsFiles {
                cert: self.tls_cert.clone(),
                key: self.tls_key.clone(),
            },
            poll: self.watch_interval,
            shutdown_grace: self.shutdown_grace,
        };
        // The certificate is checked before anything starts: a server that cannot
        // serve TLS has nothing to offer.
        options.tls.server_config()?;
        let reloader = Reloader::start(state.clone(), self.source(runtime), self.watch_interval)?;
        let async_runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("gate-serve")
            .build()
            .map_err(|source| Error::Start {
                what: "async runtime",
                source,
            })?;
        let result = async_runtime.block_on(serve(state, options, reloader.sender()));
        reloader.stop();
        result
    }

    /// How to load the bundle, and which files to watch for it.
    fn source(&self, runtime: Arc<Runtime>) -> BundleSource {
        let mut watched = Vec::new();
        if let BundleRef::File(path) = &self.bundle {
            watched.push(path.clone());
            watched.push(gate_oci::lock::LockFile::path_for(path));
            let dir = path.parent().map(PathBuf::from).unwrap_or_default();
            watched.extend(TRUST_POLICY_FILES.iter().map(|name| dir.join(name)));
        }
        watched.extend(self.modules.trust_policy.clone());
        let (bundle, modules) = (self.bundle.clone(), self.modules.clone());
        BundleSource {
            label: self.bundle.to_string(),
            watched,
            load: Box::new(move || {
                let failed = |detail: String| Error::Bundle {
                    bundle: bundle.to_string(),
                    detail,
                };
                // The engine reports a chain of context: keep all of it.
                let loaded = modules
                    .load(&runtime, &bundle)
                    .map_err(|e| failed(format!("{e:#}")))?;
                // Ready means every policy can run: its code is loaded before
                // the bundle is served, not on the first request.
                loaded
                    .load_code(&runtime)
                    .map_err(|e| failed(e.to_string()))?;
                Ok(loaded)
            }),
        }
    }
}

/// Parses `500ms`, `8s` or `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 8s or 2m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(value),
        "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        _ => return Err(format!("{text:?}: the unit must be ms, s or m")),
    };
    if duration.is_zero() {
        return Err(format!("{text:?}: must be more than zero"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("8s"), Ok(Duration::from_secs(8)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("8").unwrap_err().contains("unit"));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("0s").unwrap_err().contains("more than zero"));
        assert!(parse_duration("99999999999999999999s").is_err());
    }
}
