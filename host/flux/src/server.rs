//! The artifact server: serves approved artifacts from storage over HTTP, as
//! source-controller serves its own, for kustomize-controller to download.
//! Only stored artifact files are reachable; there is no listing.

use crate::storage::Storage;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

/// The router: `GET /gate/<namespace>/<name>/<sha256>.tar.gz` (artifacts),
/// `GET /gate/<namespace>/<name>/<sha256>.intoto.json` (evaluation records) and `GET /healthz`.
pub fn router(storage: Arc<Storage>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/{*path}", get(artifact))
        .with_state(storage)
}

async fn artifact(State(storage): State<Arc<Storage>>, UrlPath(path): UrlPath<String>) -> Response {
    let Some(file) = storage.resolve(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = if path.ends_with(crate::storage::RECORD_SUFFIX) {
        "application/json"
    } else {
        "application/gzip"
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type),
                // Content-addressed: a URL always names the same bytes.
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            Body::from(bytes),
        )
            .into_response(),
        // Removed by garbage collection between the check and the read.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!("cannot read {}: {e}", file.display());
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Serves the router on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    storage: Arc<Storage>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(storage))
        .with_graceful_shutdown(shutdown)
        .await
}
