use std::time::Duration;

use crate::backend::BackendError;
use crate::history::{LimitExceeded, OrchestrationRuntimeStatus};

/// Errors of [`DurableOrchestrationClient`](super::DurableOrchestrationClient) operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError {
    /// The instance id is not acceptable.
    #[error("invalid instance id `{instance_id}`: {reason}")]
    InvalidInstanceId {
        /// The rejected id (truncated when very long).
        instance_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No orchestrator with this name is registered in this app.
    #[error("no orchestrator function named `{name}` is registered in this app")]
    UnknownOrchestrator {
        /// The requested name.
        name: String,
    },
    /// No entity function of this app answers to this entity name (Azure's words).
    #[error(
        "The function '{name}' doesn't exist, is disabled, or is not an entity function. \
         Additional info: {}",
        known_entities(known)
    )]
    UnknownEntity {
        /// The entity name asked for.
        name: String,
        /// The names of the app's entity functions, sorted.
        known: Vec<String>,
    },
    /// The input does not deserialize into the orchestrator's declared input type.
    #[error("invalid input for `{function}`: {message}")]
    InvalidInput {
        /// The orchestrator name.
        function: String,
        /// Why the input was rejected.
        message: String,
    },
    /// An instance with this id exists and has not finished.
    #[error("an instance with id `{instance_id}` already exists and is {status}")]
    InstanceAlreadyExists {
        /// The instance id.
        instance_id: String,
        /// Its current status.
        status: OrchestrationRuntimeStatus,
    },
    /// No instance has this id.
    #[error("no instance with id `{instance_id}`")]
    InstanceNotFound {
        /// The instance id.
        instance_id: String,
    },
    /// The operation needs a running instance, and this one has finished.
    #[error("instance `{instance_id}` has already finished ({status})")]
    InstanceFinished {
        /// The instance id.
        instance_id: String,
        /// Its final status.
        status: OrchestrationRuntimeStatus,
    },
    /// The operation does not apply to the instance in its current status.
    #[error("cannot {operation} instance `{instance_id}` ({status}): {reason}")]
    InvalidState {
        /// The instance id.
        instance_id: String,
        /// Its current status.
        status: OrchestrationRuntimeStatus,
        /// The refused operation (`suspend`, `resume`, `rewind`).
        operation: &'static str,
        /// Why it does not apply.
        reason: &'static str,
    },
    /// The operation needs a finished instance (Completed, Failed, Canceled or Terminated):
    /// a purge of an instance that is still pending, running, suspended or continuing as
    /// new. Nothing was deleted.
    #[error(
        "instance `{instance_id}` is {status}: only a finished instance (Completed, Failed, \
         Canceled or Terminated) can be purged"
    )]
    InstanceNotFinished {
        /// The instance id.
        instance_id: String,
        /// Its current status.
        status: OrchestrationRuntimeStatus,
    },
    /// A query or purge condition is not acceptable: a malformed continuation token, a page
    /// size of 0, or a purge of statuses that are not final.
    #[error("invalid instance query: {message}")]
    InvalidQuery {
        /// What is wrong with it.
        message: String,
    },
    /// An event name must not be empty.
    #[error("the event name is empty")]
    InvalidEventName,
    /// The instance did not finish within the timeout.
    #[error("instance `{instance_id}` did not finish within {timeout:?}")]
    Timeout {
        /// The instance id.
        instance_id: String,
        /// How long the client waited.
        timeout: Duration,
    },
    /// An HTTP request is not what the function reads: a body that is not UTF-8, not JSON,
    /// or JSON of another shape, or a query parameter that does not parse.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong with it.
        message: String,
    },
    /// An HTTP request's `Content-Type` is not JSON or text.
    #[error("unsupported content type `{content_type}`: send JSON (`application/json`)")]
    UnsupportedMediaType {
        /// The content type the request named.
        content_type: String,
    },
    /// The input could not be serialized.
    #[error("the input could not be serialized: {0}")]
    Serialization(#[source] serde_json::Error),
    /// An entity's stored state does not read as the type asked for.
    #[error("the state of entity `{entity_id}` does not read as the type asked for: {source}")]
    EntityState {
        /// The entity.
        entity_id: String,
        /// Why it does not read.
        #[source]
        source: serde_json::Error,
    },
    /// An entity id could not be made or read.
    #[error(transparent)]
    InvalidEntityId(#[from] crate::entity::EntityIdError),
    /// A value is over its configured size limit (`maxInputSize`, `maxEventSize`, … in
    /// `host.json`); nothing was written. The HTTP API answers 413.
    #[error(transparent)]
    PayloadTooLarge(#[from] LimitExceeded),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BackendError),
}

/// The end of [`DurableError::UnknownEntity`]'s message: the known entity functions.
fn known_entities(known: &[String]) -> String {
    if known.is_empty() {
        return "No entity functions are currently registered!".to_owned();
    }
    format!("The following are the known entity functions: '{}'.", known.join("', '"))
}
