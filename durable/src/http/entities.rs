//! The entity routes of the management API, as Azure's `HttpApiHandler` serves them:
//! `GET /entities/{name}/{key}` reads a state, `GET /entities[/{name}]` lists entities,
//! `POST /entities/{name}/{key}?op=…` signals an operation and `DELETE /entities/{name}/{key}`
//! signals `delete`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use super::management::{Answer, CONTINUATION_HEADER, Path};
use super::query::Query;
use super::rejection::{InvalidBody, InvalidQuery, NotFound};
use super::{HostState, HttpRequest, HttpResponse};
use crate::client::{DurableError, EntityQuery};
use crate::history::EntityId;

/// The key Azure's clients send for an entity whose key is empty (a path segment cannot be).
const EMPTY_KEY: &str = "$";

/// The operation a `DELETE` signals.
const DELETE_OPERATION: &str = "delete";

/// The entity routes, relative to the webhook path.
pub(super) fn routes() -> Router<Arc<HostState>> {
    Router::new()
        .route("/entities", get(list_all))
        .route("/entities/", get(list_all))
        .route("/entities/{name}", get(list_named))
        .route("/entities/{name}/", get(list_named))
        .route("/entities/{name}/{key}", get(read_state).post(signal).delete(signal))
}

#[derive(Deserialize)]
struct EntityPath {
    name: String,
    key: String,
}

/// `GET /entities/{name}/{key}`: 200 with the state as the body, 404 when the entity has
/// none. The key `$` stands for the empty key, as in Azure.
async fn read_state(State(state): State<Arc<HostState>>, Path(path): Path<EntityPath>) -> Answer {
    let key = if path.key == EMPTY_KEY { String::new() } else { path.key };
    let id = EntityId::new(&path.name, key).map_err(DurableError::from)?;
    let read = state.client.read_entity_state::<Value>(&id).await?;
    match read.entity_state {
        Some(entity_state) => Ok(HttpResponse::json(StatusCode::OK, &entity_state)),
        None => Err(NotFound::new(format!("entity `{id}` does not exist")).into()),
    }
}

/// `GET /entities`: every entity.
async fn list_all(State(state): State<Arc<HostState>>, request: Request) -> Answer {
    list(&state, None, request).await
}

/// `GET /entities/{name}`: the entities of one name.
async fn list_named(
    State(state): State<Arc<HostState>>,
    Path(name): Path<String>,
    request: Request,
) -> Answer {
    list(&state, Some(name), request).await
}

/// One page of entity statuses as a JSON array, the next page's token in
/// `x-ms-continuation-token` (empty on the last page); query `fetchState`,
/// `lastOperationTimeFrom`, `lastOperationTimeTo` and `top`.
async fn list(state: &HostState, entity_name: Option<String>, request: Request) -> Answer {
    let request = super::read_request(state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let mut entity_query = EntityQuery {
        entity_name,
        last_operation_from: query.time("lastOperationTimeFrom")?,
        last_operation_to: query.time("lastOperationTimeTo")?,
        fetch_state: query.flag("fetchState", false)?,
        continuation_token: request
            .header(CONTINUATION_HEADER)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        ..EntityQuery::default()
    };
    if let Some(top) = query.count("top")? {
        entity_query.page_size = top;
    }
    let page = state.client.list_entities(&entity_query).await?;
    Ok(HttpResponse::json(StatusCode::OK, &page.entities)
        .with_header(CONTINUATION_HEADER, page.continuation_token.unwrap_or_default()))
}

/// `POST /entities/{name}/{key}?op=…` (or `DELETE`, which signals `delete`): 202 once the
/// signal is stored. The body is the operation's input: JSON with a JSON content type, else
/// its text as a JSON string; no body, no input. 400 for an entity name no entity function
/// of the app answers to, and for a `POST` without `op`.
async fn signal(
    State(state): State<Arc<HostState>>,
    Path(path): Path<EntityPath>,
    request: Request,
) -> Answer {
    let request = super::read_request(&state, request).await?;
    let query = Query::parse(Some(request.query_string()))?;
    let operation = if request.method() == "DELETE" {
        DELETE_OPERATION
    } else {
        query.get("op").ok_or_else(|| {
            InvalidQuery::new("the query parameter `op` (the operation to signal) is required")
        })?
    };
    let id = EntityId::new(&path.name, path.key).map_err(DurableError::from)?;
    state.client.check_entity_registered(&path.name)?;
    let input = operation_input(&request)?;
    state.client.signal_entity(&id, operation, input).await?;
    Ok(HttpResponse::new(StatusCode::ACCEPTED))
}

/// The operation input a request carries, as Azure reads it: JSON when the content type is
/// `application/json`, else the body's text as a JSON string; `null` without a body.
fn operation_input(request: &HttpRequest) -> Result<Value, InvalidBody> {
    if request.body().is_empty() {
        return Ok(Value::Null);
    }
    let text = request.text().map_err(|e| InvalidBody::new(e.to_string()))?;
    let content_type = request.header("content-type").unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        serde_json::from_str(text)
            .map_err(|e| InvalidBody::new(format!("Could not parse JSON content: {e}")))
    } else {
        Ok(Value::String(text.to_owned()))
    }
}
