//! The HTTP surface: `POST /validate` (AdmissionReview in, AdmissionReview out),
//! `/healthz`, `/readyz` and `/metrics`.
//!
//! A body the webhook cannot read is refused at the HTTP level, with a message:
//! 415 for a content type other than JSON, 413 past the size limit, 400 for
//! anything that is not an `admission.k8s.io/v1` AdmissionReview. The API
//! server treats these as a webhook failure, and its `failurePolicy: Fail`
//! then denies the request.

use crate::judge::judge;
use crate::review;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The router, ready to serve with any transport.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn validate(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    if let Err(message) = json_content_type(&parts.headers) {
        drain(body).await;
        return reject(&state, StatusCode::UNSUPPORTED_MEDIA_TYPE, &message);
    }
    let limit = state.settings.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        drain(body).await;
        return reject(&state, StatusCode::PAYLOAD_TOO_LARGE, &too_large(limit));
    }
    let bytes = match read_body(body, limit).await {
        Ok(bytes) => bytes,
        Err((status, message)) => return reject(&state, status, &message),
    };
    let review = match review::parse(&bytes) {
        Ok(review) => review,
        Err(malformed) => return reject(&state, StatusCode::BAD_REQUEST, &malformed.0),
    };
    match judge(&state, review, arrived).await {
        Ok(answer) => json(StatusCode::OK, &answer.into_review()),
        Err(malformed) => reject(&state, StatusCode::BAD_REQUEST, &malformed.0),
    }
}

/// How much of a refused body is still read, and thrown away, before the
/// answer goes out, and for how long. An HTTP/1.1 client that is still sending
/// when the server closes sees a reset connection instead of the status and its
/// reason; draining a bounded amount lets a well-behaved client read the 413 or
/// 415. A client that sends more, or more slowly, gets the reset.
const DRAIN_BYTES: usize = 4 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(2);

async fn drain(mut body: Body) {
    let discard = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |data| data.len());
            if seen > DRAIN_BYTES {
                break;
            }
        }
    };
    // Past the deadline the rest is left unread and the connection closes.
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

/// Reads the body up to `limit` bytes: past it, 413 (after a bounded drain);
/// a connection that breaks mid-body, 400.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, (StatusCode, String)> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            (
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {error}"),
            )
        })?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        if bytes.len() + data.len() > limit {
            drain(body).await;
            return Err((StatusCode::PAYLOAD_TOO_LARGE, too_large(limit)));
        }
        bytes.extend_from_slice(data);
    }
    Ok(bytes)
}

/// `application/json`, with or without parameters such as `charset`.
fn json_content_type(headers: &HeaderMap) -> Result<(), String> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let media_type = value
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    if media_type.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(format!(
        "expected Content-Type application/json, got {}",
        value.map_or_else(|| "none".to_owned(), |v| format!("{v:?}"))
    ))
}

fn too_large(limit: usize) -> String {
    format!("the request body is over the limit of {limit} bytes")
}

/// Refuses a request with a plain-text message, logged and counted.
fn reject(state: &AppState, status: StatusCode, message: &str) -> Response {
    state.metrics.rejected(status.as_u16());
    tracing::warn!(
        status = status.as_u16(),
        reason = message,
        "request refused"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(bytes),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write the answer: {e}\n"),
        )
            .into_response(),
    }
}

/// The process is up and answering.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when a bundle is loaded (each of its policies compiled, verified and its
/// settings validated), and not shutting down.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.stopping() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: shutting down\n",
        )
            .into_response();
    }
    match state.bundle.load_full() {
        Some(bundle) => (
            StatusCode::OK,
            format!(
                "ready: bundle {} ({}), {} policies loaded and validated\n",
                bundle.name,
                bundle.digest,
                bundle.policies.len()
            ),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: no bundle loaded{}\n",
                state
                    .last_load_error()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn json_with_parameters_is_json() {
        assert!(json_content_type(&headers(Some("application/json"))).is_ok());
        assert!(json_content_type(&headers(Some("Application/JSON; charset=utf-8"))).is_ok());
    }

    #[test]
    fn other_or_missing_content_types_are_named_in_the_refusal() {
        let err = json_content_type(&headers(Some("text/yaml"))).unwrap_err();
        assert!(err.contains("\"text/yaml\""), "{err}");
        let err = json_content_type(&headers(None)).unwrap_err();
        assert!(err.contains("got none"), "{err}");
        assert!(json_content_type(&headers(Some("application/jsonx"))).is_err());
    }
}
