//! Azure's management API under `/runtime/webhooks/durabletask`: start, status, list, purge,
//! raise events, terminate, suspend, resume, rewind and restart instances, with Azure's
//! routes, query parameters, status codes, headers and JSON.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use super::keys::Access;
use super::query::Query;
use super::{HostState, HttpResponse, bad_request, error_response, not_found};
use crate::client::{
    DurableError, DurableOrchestrationStatus, OrchestrationStatusQueryCondition,
    validate_instance_id,
};
use crate::history::OrchestrationRuntimeStatus;
use crate::history::{HistoryView, azure_history};

/// The request and response header carrying a list's continuation token.
const CONTINUATION_HEADER: &str = "x-ms-continuation-token";

/// What a handler answers: the response either way.
type Answer = Result<HttpResponse, HttpResponse>;

/// Path parameters; a path that does not decode (invalid percent-encoding, say) is a JSON
/// 400 rather than axum's plain-text one.
struct Path<T>(T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = HttpResponse;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| bad_request(format!("the path is invalid: {rejection}")))
    }
}

/// The management routes, relative to the webhook path.
pub(crate) fn router(state: &Arc<HostState>) -> Router<Arc<HostState>> {
    Router::new()
        .route("/orchestrators/{function_name}", post(start))
        .route("/orchestrators/{function_name}/{instance_id}", post(start))
        .route("/instances", get(list).delete(purge_by_filter))
        .route("/instances/", get(list).delete(purge_by_filter))
        .route("/instances/{instance_id}", get(status).delete(purge))
        .route("/instances/{instance_id}/raiseEvent/{event_name}", post(raise_event))
        .route("/instances/{instance_id}/{operation}", post(operation))
        .route_layer(from_fn_with_state(state.clone(), authorize))
}

/// Lets in requests with the system or master key (when keys are on) for this app's task hub.
async fn authorize(State(state): State<Arc<HostState>>, request: Request, next: Next) -> Response {
    let query = match Query::parse(request.uri().query()) {
        Ok(query) => query,
        Err(response) => return response.into_response(),
    };
    let presented = super::presented_key(request.headers(), query.get("code"));
    if !state.keys.allows(Access::Management, presented) {
        return super::functions::unauthorized().into_response();
    }
    if let Some(hub) = query.get("taskHub")
        && !hub.eq_ignore_ascii_case(&state.hub_name)
    {
        return bad_request(format!("this app serves task hub `{}`, not `{hub}`", state.hub_name))
            .into_response();
    }
    next.run(request).await
}

#[derive(Deserialize)]
struct StartPath {
    function_name: String,
    instance_id: Option<String>,
}

/// `POST /orchestrators/{functionName}[/{instanceId}]`: 202 with the management URLs; with
/// `timeout` (seconds), waits for the instance as HttpSyncStart does.
async fn start(
    State(state): State<Arc<HostState>>,
    Path(path): Path<StartPath>,
    request: Request,
) -> HttpResponse {
    answer(start_instance(&state, path, request).await)
}

async fn start_instance(state: &HostState, path: StartPath, request: Request) -> Answer {
    let request = super::read_request(state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let input: Value = request.json().map_err(|e| error_response(&e))?;
    let client = &state.client;
    let instance_id = path.instance_id.as_deref();
    let started = match query.get("version") {
        Some(version) => {
            client.start_new_with_version(&path.function_name, instance_id, version, input).await
        }
        None => client.start_new(&path.function_name, instance_id, input).await,
    };
    let instance_id = started.map_err(|e| start_error(&e))?;
    match seconds(&query, "timeout")? {
        None => Ok(client.create_check_status_response(&request, &instance_id)),
        Some(timeout) => {
            let interval = seconds(&query, "pollingInterval")?.unwrap_or(Duration::from_secs(1));
            client
                .wait_for_completion_or_create_check_status_response(
                    &request,
                    &instance_id,
                    timeout,
                    interval,
                )
                .await
                .map_err(|e| error_response(&e))
        }
    }
}

/// Azure answers a start of an unknown orchestrator with 400 (its `ExceptionMessage` says the
/// function does not exist); other errors keep their usual status.
fn start_error(error: &DurableError) -> HttpResponse {
    match error {
        DurableError::UnknownOrchestrator { .. } => bad_request(error.to_string()),
        other => error_response(other),
    }
}

/// `GET /instances/{instanceId}`: 200 when finished, 202 (with `Location` and
/// `Retry-After: 5`) while running, 404 when unknown; 500 for a failed instance when
/// `returnInternalServerErrorOnFailure=true`.
async fn status(
    State(state): State<Arc<HostState>>,
    Path(instance_id): Path<String>,
    request: Request,
) -> HttpResponse {
    answer(instance_status(&state, &instance_id, request).await)
}

async fn instance_status(state: &HostState, instance_id: &str, request: Request) -> Answer {
    let request = super::read_request(state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let view = HistoryView {
        show_input: query.flag("showInput", true)?,
        show_output: query.flag("showHistoryOutput", false)?,
    };
    let show_history = query.flag("showHistory", false)?;
    let error_on_failure = query.flag("returnInternalServerErrorOnFailure", false)?;
    valid_id(instance_id)?;
    let client = &state.client;
    let status = if show_history {
        client.get_status_with_history(instance_id).await
    } else {
        client.get_status(instance_id).await
    }
    .map_err(|e| error_response(&e))?
    .ok_or_else(|| not_found(format!("no instance with id `{instance_id}`")))?;
    let response = status_response(&status, view, error_on_failure);
    Ok(match response.status() {
        StatusCode::ACCEPTED => {
            response.with_header("Location", request.url()).with_header("Retry-After", "5")
        }
        _ => response,
    })
}

/// The status object of an instance, with the status code Azure gives it.
pub(crate) fn status_response(
    status: &DurableOrchestrationStatus,
    view: HistoryView,
    error_on_failure: bool,
) -> HttpResponse {
    let code = match status.runtime_status {
        OrchestrationRuntimeStatus::Failed if error_on_failure => StatusCode::INTERNAL_SERVER_ERROR,
        s if s.is_terminal() => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    };
    let history = status.history.as_deref().map(|events| azure_history(events, view));
    let mut body = serde_json::to_value(status).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut body {
        if !view.show_input {
            fields.insert("input".to_owned(), Value::Null);
        }
        fields.remove("historyEvents");
        if let Some(history) = history {
            fields.insert("historyEvents".to_owned(), Value::Array(history));
        }
    }
    HttpResponse::json(code, &body)
}

/// `GET /instances`: one page of statuses, the next page's token in
/// `x-ms-continuation-token` (empty on the last page).
async fn list(State(state): State<Arc<HostState>>, request: Request) -> HttpResponse {
    answer(list_instances(&state, request).await)
}

async fn list_instances(state: &HostState, request: Request) -> Answer {
    let request = super::read_request(state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let mut condition = OrchestrationStatusQueryCondition {
        runtime_status: query.statuses("runtimeStatus")?,
        created_time_from: query.time("createdTimeFrom")?,
        created_time_to: query.time("createdTimeTo")?,
        instance_id_prefix: query.get("instanceIdPrefix").map(str::to_owned),
        show_input: query.flag("showInput", true)?,
        continuation_token: request
            .header(CONTINUATION_HEADER)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        ..OrchestrationStatusQueryCondition::default()
    };
    if let Some(top) = query.count("top")? {
        condition.page_size = top;
    }
    let page = state.client.list_instances(&condition).await.map_err(|e| error_response(&e))?;
    Ok(HttpResponse::json(StatusCode::OK, &page.durable_orchestration_state)
        .with_header(CONTINUATION_HEADER, page.continuation_token.unwrap_or_default()))
}

/// `DELETE /instances/{instanceId}`: 200 `{"instancesDeleted": 1}`, 404 when unknown, 412
/// while it has not finished.
async fn purge(
    State(state): State<Arc<HostState>>,
    Path(instance_id): Path<String>,
) -> HttpResponse {
    answer(purge_one(&state, &instance_id).await)
}

async fn purge_one(state: &HostState, instance_id: &str) -> Answer {
    valid_id(instance_id)?;
    let purged =
        state.client.purge_instance_history(instance_id).await.map_err(|e| purge_error(&e))?;
    if purged.instances_deleted == 0 {
        return Err(not_found(format!("no instance with id `{instance_id}`")));
    }
    Ok(HttpResponse::json(StatusCode::OK, &purged))
}

/// `DELETE /instances?createdTimeFrom=…`: 200 with the count, 404 when nothing matched.
async fn purge_by_filter(
    State(state): State<Arc<HostState>>,
    RawQuery(raw): RawQuery,
) -> HttpResponse {
    answer(purge_matching(&state, raw.as_deref()).await)
}

async fn purge_matching(state: &HostState, raw: Option<&str>) -> Answer {
    let query = Query::parse(raw)?;
    let from = query
        .time("createdTimeFrom")?
        .ok_or_else(|| bad_request("the query parameter `createdTimeFrom` is required"))?;
    let purged = state
        .client
        .purge_instance_history_by(
            from,
            query.time("createdTimeTo")?,
            &query.statuses("runtimeStatus")?,
        )
        .await
        .map_err(|e| purge_error(&e))?;
    if purged.instances_deleted == 0 {
        return Err(not_found("no finished instance matches the filter"));
    }
    Ok(HttpResponse::json(StatusCode::OK, &purged))
}

/// A purge of an instance that has not finished is 412, as in Azure.
fn purge_error(error: &DurableError) -> HttpResponse {
    match error {
        DurableError::InstanceNotFinished { .. } => HttpResponse::error(
            StatusCode::PRECONDITION_FAILED,
            "Only finished instances can be purged.",
            error.to_string(),
        ),
        other => error_response(other),
    }
}

#[derive(Deserialize)]
struct EventPath {
    instance_id: String,
    event_name: String,
}

/// `POST /instances/{instanceId}/raiseEvent/{eventName}` with the event data as JSON: 202,
/// 404 when unknown, 410 when finished.
async fn raise_event(
    State(state): State<Arc<HostState>>,
    Path(path): Path<EventPath>,
    request: Request,
) -> HttpResponse {
    answer(raise(&state, path, request).await)
}

async fn raise(state: &HostState, path: EventPath, request: Request) -> Answer {
    valid_id(&path.instance_id)?;
    let request = super::read_request(state, request).await?;
    let data: Value = request.json().map_err(|e| error_response(&e))?;
    state
        .client
        .raise_event(&path.instance_id, &path.event_name, data)
        .await
        .map_err(|e| error_response(&e))?;
    Ok(HttpResponse::new(StatusCode::ACCEPTED))
}

#[derive(Deserialize)]
struct OperationPath {
    instance_id: String,
    operation: String,
}

/// `POST /instances/{instanceId}/{terminate|suspend|resume|rewind|restart}`.
async fn operation(
    State(state): State<Arc<HostState>>,
    Path(path): Path<OperationPath>,
    request: Request,
) -> HttpResponse {
    answer(run_operation(&state, path, request).await)
}

async fn run_operation(state: &HostState, path: OperationPath, request: Request) -> Answer {
    let request = super::read_request(state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let id = path.instance_id.as_str();
    valid_id(id)?;
    let client = &state.client;
    let reason = query.get("reason").map(str::to_owned);
    let operation = path.operation.to_ascii_lowercase();
    let done = match operation.as_str() {
        "terminate" => client.terminate(id, reason).await,
        "suspend" => client.suspend(id, reason).await,
        "resume" => client.resume(id, reason).await,
        "rewind" => {
            client.rewind(id, reason).await.map_err(rewind_error)?;
            Ok(())
        }
        "restart" => {
            let new_id = query.flag("restartWithNewInstanceId", true)?;
            let restarted = client.restart(id, new_id).await.map_err(|e| error_response(&e))?;
            return Ok(client.create_check_status_response(&request, &restarted));
        }
        _ => {
            return Err(not_found(format!(
                "`{}` is not an instance operation; expected terminate, suspend, resume, \
                 rewind, restart or raiseEvent/{{eventName}}",
                path.operation
            )));
        }
    };
    done.map_err(|e| error_response(&e))?;
    Ok(HttpResponse::new(StatusCode::ACCEPTED))
}

/// A rewind of an instance that is not failed is 410, as Azure documents and its clients
/// expect.
fn rewind_error(error: DurableError) -> HttpResponse {
    match &error {
        DurableError::InvalidState { status, .. }
            if *status != OrchestrationRuntimeStatus::Failed =>
        {
            HttpResponse::error(
                StatusCode::GONE,
                "Only failed instances can be rewound.",
                error.to_string(),
            )
        }
        other => error_response(other),
    }
}

/// Refuses an id no instance can have (too long, path characters, …) with a 400.
fn valid_id(instance_id: &str) -> Result<(), HttpResponse> {
    validate_instance_id(instance_id).map_err(|e| error_response(&e))
}

/// A query parameter in seconds (fractions allowed).
fn seconds(query: &Query, name: &str) -> Result<Option<Duration>, HttpResponse> {
    query
        .get(name)
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| {
                    bad_request(format!(
                        "the query parameter `{name}` must be a number of seconds, not `{v}`"
                    ))
                })
        })
        .transpose()
}

fn answer(result: Answer) -> HttpResponse {
    result.unwrap_or_else(|response| response)
}
