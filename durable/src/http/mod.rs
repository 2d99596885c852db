//! The function app's HTTP host: HTTP-triggered functions under `/api/{route}`, Azure's
//! management API under `/runtime/webhooks/durabletask`, function keys, and the
//! [`HttpRequest`]/[`HttpResponse`] types client functions use.
//!
//! Every error the host answers is JSON in the shape of Azure's HTTP APIs,
//! `{"Message": …, "ExceptionMessage": …}`, with the fitting status: 400 for malformed input,
//! 401 without the right key, 404 for an unknown route or instance, 405 for a wrong method,
//! 409 for an operation that conflicts with the instance's status, 410 for an operation on a
//! finished instance, 412 for a purge of a running one, 413 for a body over the limit and 415
//! for a body that is not JSON. Each kind of failure is a type (`rejection.rs`); handlers
//! return them, and `error.rs` maps each `DurableError` variant to one.

mod check_status;
mod dashboard;
mod entities;
mod error;
mod functions;
mod keys;
mod management;
mod query;
mod rejection;
mod request;
mod response;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::watch;

pub use axum::http::StatusCode;
pub(crate) use functions::{ApiRoutes, registered};
pub use functions::{HttpFunctionRegistration, RouteError};
pub use keys::{AuthLevel, HostKeys, KeySettings, KeysError, Secret};
pub(crate) use rejection::{ApiError, InternalError, InvalidPath};
pub use request::HttpRequest;
pub use response::HttpResponse;
pub use routes::RouteSegment;

use rejection::{InvalidBody, MethodNotAllowed, NotFound, PayloadTooLarge};

use crate::client::{DurableOrchestrationClient, WEBHOOK_PATH};

/// What the host serves with.
pub(crate) struct HostState {
    pub(crate) client: DurableOrchestrationClient,
    pub(crate) keys: HostKeys,
    pub(crate) api: ApiRoutes,
    pub(crate) max_request_body: usize,
    pub(crate) hub_name: String,
    /// The origin to use when a request's `Host` header is missing or unusable.
    pub(crate) origin: String,
    /// The path HTTP-triggered functions are served under (`api`; empty for the root).
    pub(crate) route_prefix: String,
}

/// Serves `state` on `listener` until `shutdown` turns true; requests in flight finish.
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<HostState>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let management = management::router(&state).method_not_allowed_fallback(method_fallback);
    let app = Router::new()
        .nest(WEBHOOK_PATH, management)
        .fallback(api)
        .layer(axum::middleware::from_fn(trace_scope))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state);
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    })
}

/// Logs each request's method, path and status; never the query, which may hold a key.
async fn log_request(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(%method, path, status = response.status().as_u16(), elapsed = ?started.elapsed(), "HTTP request");
    response
}

/// Serves a request within the trace its W3C `traceparent` header names (an invalid one is
/// ignored): the orchestrations it starts descend from it.
async fn trace_scope(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    let context = trace_context(request.headers());
    crate::telemetry::serving(context, next.run(request)).await
}

/// The trace context the `traceparent` and `tracestate` headers give.
fn trace_context(headers: &HeaderMap) -> Option<crate::history::TraceContext> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let parent = header("traceparent")?;
    crate::history::TraceContext::from_traceparent(parent, header("tracestate"))
}

/// Everything outside the management API: HTTP functions under the route prefix (`/api/`),
/// else 404.
async fn api(
    State(state): State<Arc<HostState>>,
    request: Request,
) -> Result<HttpResponse, ApiError> {
    let path = request.uri().path().to_owned();
    let api_path = match under_prefix(&path, &state.route_prefix) {
        Some(rest) => rest,
        None => return Err(NotFound::new(format!("nothing is served at {path}")).into()),
    };
    let request = read_request(&state, request).await?;
    state.api.dispatch(api_path, request, &state.keys, &state.client).await
}

/// The part of `path` below the route prefix `prefix` (no slashes at either end; empty for
/// the root), without its leading `/`; `None` when `path` is not below it.
fn under_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix('/')?;
    if prefix.is_empty() {
        return Some(rest);
    }
    let below = rest.get(..prefix.len()).filter(|head| head.eq_ignore_ascii_case(prefix))?;
    match &rest[below.len()..] {
        "" => Some(""),
        tail => tail.strip_prefix('/'),
    }
}

/// The 405 of the management API: JSON, with `Allow`.
async fn method_fallback(request: Request) -> ApiError {
    MethodNotAllowed::new(request.method().as_str(), "see the route's documentation").into()
}

/// The key a request presents: the `x-functions-key` header, else the `code` query parameter.
pub(crate) fn presented_key<'a>(headers: &'a HeaderMap, code: Option<&'a str>) -> Option<&'a str> {
    headers.get("x-functions-key").and_then(|v| v.to_str().ok()).or(code)
}

/// Reads a whole request, refusing a body over the limit with 413.
pub(crate) async fn read_request(
    state: &HostState,
    request: Request,
) -> Result<HttpRequest, ApiError> {
    let (parts, body) = request.into_parts();
    let limit = state.max_request_body;
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(PayloadTooLarge::body_over(limit).into());
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(PayloadTooLarge::body_over(limit).into());
        }
        Err(e) => {
            return Err(InvalidBody::new(format!("the request body could not be read: {e}")).into());
        }
    };
    let origin = request_origin(&parts.headers).unwrap_or_else(|| state.origin.clone());
    // Under the management API's nested router the path has lost its prefix; the request URL
    // is the one the client sent.
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    Ok(HttpRequest::from_parts(
        parts.method.as_str().to_owned(),
        origin,
        uri.path().to_owned(),
        uri.query().unwrap_or_default().to_owned(),
        parts.headers,
        body,
    ))
}

/// The scheme and authority the client addressed (`Host`, and `X-Forwarded-Proto` from a
/// TLS-terminating proxy); `None` when the header is missing or not a plain authority.
fn request_origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if !plain {
        return None;
    }
    let scheme = match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

/// The origin of the address the host listens on, for URLs made without a request: an
/// unspecified address (`0.0.0.0`) reads as `localhost`.
pub(crate) fn listen_origin(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}
