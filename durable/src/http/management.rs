//! Azure's management API under `/runtime/webhooks/durabletask`: start, status, list, purge,
//! raise events, terminate, suspend, resume, rewind and restart instances, with Azure's
//! routes, query parameters, status codes, headers and JSON; the entity routes are in
//! `entities.rs`.

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
use super::rejection::{
    ApiError, InvalidPath, InvalidQuery, NotFound, NotPurgeable, NotRewindable, Unauthorized,
};
use super::{HostState, HttpResponse};
use crate::client::{
    DurableError, DurableOrchestrationStatus, InstanceControl, OrchestrationStatusQueryCondition,
    StartOrchestrationOptions, validate_instance_id,
};
use crate::history::OrchestrationRuntimeStatus;
use crate::history::{HistoryView, azure_history};

/// The request and response header carrying a list's continuation token.
pub(super) const CONTINUATION_HEADER: &str = "x-ms-continuation-token";

/// What a handler answers: the response, or the failure's.
pub(super) type Answer = Result<HttpResponse, ApiError>;

/// Path parameters; a path that does not decode (invalid percent-encoding, say) is a JSON
/// 400 rather than axum's plain-text one.
pub(super) struct Path<T>(pub(super) T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| {
                InvalidPath::new(format!("the path is invalid: {rejection}")).into()
            })
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
        .merge(super::entities::routes())
        .merge(super::dashboard::routes())
        .route_layer(from_fn_with_state(state.clone(), authorize))
}

/// Lets in requests with the system or master key (when keys are on) for this app's task hub.
async fn authorize(State(state): State<Arc<HostState>>, request: Request, next: Next) -> Response {
    match admit(&state, &request) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Whether `authorize` lets the request in.
fn admit(state: &HostState, request: &Request) -> Result<(), ApiError> {
    let query = Query::parse(request.uri().query())?;
    let presented = super::presented_key(request.headers(), query.get("code"));
    if !state.keys.allows(Access::Management, presented) {
        return Err(Unauthorized.into());
    }
    if let Some(hub) = query.get("taskHub")
        && !hub.eq_ignore_ascii_case(&state.hub_name)
    {
        let detail = format!("this app serves task hub `{}`, not `{hub}`", state.hub_name);
        return Err(InvalidQuery::new(detail).into());
    }
    Ok(())
}

#[derive(Deserialize)]
struct StartPath {
    function_name: String,
    instance_id: Option<String>,
}

/// `POST /orchestrators/{functionName}[/{instanceId}]`: 202 with the management URLs; with
/// `timeout` (seconds), waits for the instance as HttpSyncStart does; with `startAt` (ours,
/// an ISO 8601 time), the instance is scheduled to start then.
async fn start(
    State(state): State<Arc<HostState>>,
    Path(path): Path<StartPath>,
    request: Request,
) -> Answer {
    let request = super::read_request(&state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let input: Value = request.json()?;
    let client = &state.client;
    let options = StartOrchestrationOptions {
        instance_id: path.instance_id,
        version: query.get("version").map(str::to_owned),
        start_at: query.time("startAt")?,
    };
    let started =
        client.schedule_new_orchestration_instance(&path.function_name, input, options).await;
    let instance_id = started.map_err(start_error)?;
    match query.seconds("timeout")? {
        None => Ok(client.create_check_status_response(&request, &instance_id)),
        Some(timeout) => {
            let interval = query.seconds("pollingInterval")?.unwrap_or(Duration::from_secs(1));
            Ok(client
                .wait_for_completion_or_create_check_status_response(
                    &request,
                    &instance_id,
                    timeout,
                    interval,
                )
                .await?)
        }
    }
}

/// Azure answers a start of an unknown orchestrator with 400 (its `ExceptionMessage` says the
/// function does not exist); other errors keep their usual status.
fn start_error(error: DurableError) -> ApiError {
    match error {
        DurableError::UnknownOrchestrator { .. } => InvalidPath::new(error.to_string()).into(),
        other => other.into(),
    }
}

/// `GET /instances/{instanceId}`: 200 when finished, 202 (with `Location` and
/// `Retry-After: 5`) while running, 404 when unknown; 500 for a failed instance when
/// `returnInternalServerErrorOnFailure=true`.
async fn status(
    State(state): State<Arc<HostState>>,
    Path(instance_id): Path<String>,
    request: Request,
) -> Answer {
    let instance_id = instance_id.as_str();
    let request = super::read_request(&state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let view = HistoryView {
        show_input: query.flag("showInput", true)?,
        show_output: query.flag("showHistoryOutput", false)?,
    };
    let show_history = query.flag("showHistory", false)?;
    let error_on_failure = query.flag("returnInternalServerErrorOnFailure", false)?;
    validate_instance_id(instance_id)?;
    let client = &state.client;
    let status = if show_history {
        client.get_status_with_history(instance_id).await
    } else {
        client.get_status(instance_id).await
    }?
    .ok_or_else(|| unknown_instance(instance_id))?;
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
async fn list(State(state): State<Arc<HostState>>, request: Request) -> Answer {
    let request = super::read_request(&state, request).await?;
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
    let page = state.client.list_instances(&condition).await?;
    Ok(HttpResponse::json(StatusCode::OK, &page.durable_orchestration_state)
        .with_header(CONTINUATION_HEADER, page.continuation_token.unwrap_or_default()))
}

/// `DELETE /instances/{instanceId}`: 200 `{"instancesDeleted": 1}`, 404 when unknown, 412
/// while it has not finished.
async fn purge(State(state): State<Arc<HostState>>, Path(instance_id): Path<String>) -> Answer {
    validate_instance_id(&instance_id)?;
    let purged = state.client.purge_instance_history(&instance_id).await.map_err(purge_error)?;
    if purged.instances_deleted == 0 {
        return Err(unknown_instance(&instance_id).into());
    }
    Ok(HttpResponse::json(StatusCode::OK, &purged))
}

/// `DELETE /instances?createdTimeFrom=…`: 200 with the count, 404 when nothing matched.
async fn purge_by_filter(State(state): State<Arc<HostState>>, RawQuery(raw): RawQuery) -> Answer {
    let query = Query::parse(raw.as_deref())?;
    let from = query
        .time("createdTimeFrom")?
        .ok_or_else(|| InvalidQuery::new("the query parameter `createdTimeFrom` is required"))?;
    let purged = state
        .client
        .purge_instance_history_by(
            from,
            query.time("createdTimeTo")?,
            &query.statuses("runtimeStatus")?,
        )
        .await
        .map_err(purge_error)?;
    if purged.instances_deleted == 0 {
        return Err(NotFound::new("no finished instance matches the filter").into());
    }
    Ok(HttpResponse::json(StatusCode::OK, &purged))
}

/// A purge of an instance that has not finished is 412, as in Azure.
fn purge_error(error: DurableError) -> ApiError {
    match error {
        DurableError::InstanceNotFinished { .. } => NotPurgeable::new(error.to_string()).into(),
        other => other.into(),
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
) -> Answer {
    validate_instance_id(&path.instance_id)?;
    let request = super::read_request(&state, request).await?;
    let data: Value = request.json()?;
    state.client.raise_event(&path.instance_id, &path.event_name, data).await?;
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
) -> Answer {
    let request = super::read_request(&state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let id = path.instance_id.as_str();
    validate_instance_id(id)?;
    let client = &state.client;
    let reason = query.get("reason").map(str::to_owned);
    let operation = path.operation.to_ascii_lowercase();
    let done = match operation.as_str() {
        // `recursive=true` takes the sub-orchestrations along, as the newer SDKs do.
        "terminate" | "suspend" | "resume" => {
            let control = match operation.as_str() {
                "terminate" => InstanceControl::Terminate,
                "suspend" => InstanceControl::Suspend,
                _ => InstanceControl::Resume,
            };
            client.control(id, reason, control, query.flag("recursive", false)?).await
        }
        "rewind" => {
            client.rewind(id, reason).await.map_err(rewind_error)?;
            Ok(())
        }
        "restart" => {
            let new_id = query.flag("restartWithNewInstanceId", true)?;
            let restarted = client.restart(id, new_id).await?;
            return Ok(client.create_check_status_response(&request, &restarted));
        }
        _ => {
            return Err(NotFound::new(format!(
                "`{}` is not an instance operation; expected terminate, suspend, resume, \
                 rewind, restart or raiseEvent/{{eventName}}",
                path.operation
            ))
            .into());
        }
    };
    done?;
    Ok(HttpResponse::new(StatusCode::ACCEPTED))
}

/// A rewind of an instance that is not failed is 410, as Azure documents and its clients
/// expect.
fn rewind_error(error: DurableError) -> ApiError {
    match error {
        DurableError::InvalidState { status, .. }
            if status != OrchestrationRuntimeStatus::Failed =>
        {
            NotRewindable::new(error.to_string()).into()
        }
        other => other.into(),
    }
}

/// The error for an instance id nothing has: a 404.
fn unknown_instance(instance_id: &str) -> DurableError {
    DurableError::InstanceNotFound { instance_id: instance_id.to_owned() }
}
