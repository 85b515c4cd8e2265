//! Serving the router over TLS, with signals: SIGHUP reloads the bundle,
//! SIGTERM (or SIGINT) shuts down gracefully: stop accepting, finish the
//! requests in flight (up to a grace period), then return.

use crate::error::{Error, Result};
use crate::reload::Trigger;
use crate::router::router;
use crate::state::AppState;
use crate::tls::{self, TlsFiles};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// How the server listens and stops.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The serving certificate.
    pub tls: TlsFiles,
    /// How often the certificate files are checked for a change.
    pub poll: Duration,
    /// How long requests in flight may take to finish once SIGTERM arrives.
    pub shutdown_grace: Duration,
}

/// Serves until SIGTERM or SIGINT and the graceful shutdown that follows.
pub async fn serve(
    state: Arc<AppState>,
    options: ServerOptions,
    reload: Sender<Trigger>,
) -> Result<()> {
    let tls_config = RustlsConfig::from_config(options.tls.server_config()?);
    let handle: Handle<SocketAddr> = Handle::new();
    let start_error = |source| Error::Start {
        what: "signal handlers",
        source,
    };
    let mut hangup = signal(SignalKind::hangup()).map_err(start_error)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(start_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(start_error)?;

    let signals = {
        let (state, handle, grace) = (state.clone(), handle.clone(), options.shutdown_grace);
        async move {
            loop {
                tokio::select! {
                    _ = hangup.recv() => {
                        tracing::info!("SIGHUP: reloading the bundle");
                        let _ = reload.send(Trigger::Reload);
                    }
                    _ = terminate.recv() => break,
                    _ = interrupt.recv() => break,
                }
            }
            tracing::info!(
                grace_ms = grace.as_millis() as u64,
                in_flight = handle.connection_count(),
                "shutting down: no new connections, finishing requests in flight"
            );
            state.begin_shutdown();
            handle.graceful_shutdown(Some(grace));
        }
    };
    tokio::spawn(signals);
    tokio::spawn(tls::watch(
        options.tls.clone(),
        tls_config.clone(),
        options.poll,
        state.clone(),
    ));
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            if let Some(addr) = handle.listening().await {
                tracing::info!(%addr, "listening (HTTPS)");
            }
        });
    }

    let app = router(state);
    axum_server::bind_rustls(options.listen, tls_config)
        .handle(handle)
        .serve(app.into_make_service())
        .await
        .map_err(|source| Error::Listen {
            addr: options.listen,
            source,
        })?;
    tracing::info!("stopped");
    Ok(())
}
