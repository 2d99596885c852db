//! The dashboard, under `/runtime/webhooks/durabletask/dashboard/`: one page whose style and
//! script are embedded in the binary and inlined into it (so the page is one request, which
//! carries the key like any management call), drawing instances, their history and
//! timeline, and the task hub from the management API alone. `GET /taskhub` (ours) gives it
//! the counts per status and the queues.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::management::Answer;
use super::{HostState, HttpResponse};

const PAGE: &str = include_str!("index.html");
const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("app.js");

/// Nothing but this page's own script and style, and calls to its own origin: the page
/// fetches nothing from anywhere else.
const CONTENT_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The dashboard's routes, relative to the webhook path.
pub(super) fn routes() -> Router<Arc<HostState>> {
    Router::new()
        .route("/dashboard", get(redirect))
        .route("/dashboard/", get(page))
        .route("/taskhub", get(task_hub))
}

/// `GET /dashboard`: to the page, so that its relative API paths resolve; the key stays on.
async fn redirect(RawQuery(query): RawQuery) -> HttpResponse {
    let location = match query {
        Some(query) => format!("dashboard/?{query}"),
        None => "dashboard/".to_owned(),
    };
    HttpResponse::new(StatusCode::PERMANENT_REDIRECT).with_header("Location", location)
}

/// `GET /dashboard/`: the page.
async fn page() -> HttpResponse {
    let html = PAGE.replacen("/*STYLE*/", STYLE, 1).replacen("/*SCRIPT*/", SCRIPT, 1);
    HttpResponse::new(StatusCode::OK)
        .with_header("Content-Type", "text/html; charset=utf-8")
        .with_header("Content-Security-Policy", CONTENT_POLICY)
        .with_header("Cache-Control", "no-store")
        .with_body(html.into_bytes())
}

/// `GET /taskhub`: `{"hubName", "statusCounts": {status: n}, "queues": [{"name", "kind",
/// "depth", "oldestEnqueuedAt"}]}`.
async fn task_hub(State(state): State<Arc<HostState>>) -> Answer {
    let client = &state.client;
    let counts: Map<String, Value> = client
        .count_instances()
        .await?
        .into_iter()
        .map(|(status, count)| (status.as_str().to_owned(), Value::from(count)))
        .collect();
    let queues: Vec<Value> = client
        .list_queues()
        .await?
        .into_iter()
        .map(|queue| {
            json!({
                "name": queue.name,
                "kind": queue.kind.as_str(),
                "depth": queue.depth,
                "oldestEnqueuedAt": queue.oldest_enqueued_at,
            })
        })
        .collect();
    let body = json!({ "hubName": state.hub_name, "statusCounts": counts, "queues": queues });
    Ok(HttpResponse::json(StatusCode::OK, &body))
}
