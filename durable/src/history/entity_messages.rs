//! What travels to and from entities: the messages in an entity's inbox (operations, lock
//! requests, lock releases) and the response a caller receives. Orchestrations, clients and
//! entities all write them; the entity engine reads them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EntityId, EventKind, FailureDetails, HistoryEvent, OrchestrationMessage};

/// One operation for an entity: its name and input, who sent it, and, for a call, the id its
/// response carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRequest {
    /// The operation's name.
    pub operation: String,
    /// Its input, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// The orchestration instance that sent it (`None` from clients and entities): while an
    /// orchestration holds an entity's lock, only its own requests run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Set on a call: the sender awaits an [`EntityResponse`] raised as an event of this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl OperationRequest {
    /// A one-way operation from a client or an entity.
    pub fn signal(operation: impl Into<String>, input: Option<Value>) -> Self {
        OperationRequest { operation: operation.into(), input, sender: None, request_id: None }
    }
}

/// A critical section's request to lock `lock_set` (sorted, no duplicates) for `owner`. It
/// visits the entities in order: each grants it and forwards it to the next; the last one
/// answers the owner with the event `request_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockRequest {
    /// The orchestration instance that asked.
    pub owner: String,
    /// Names the critical section; the grant is raised under it.
    pub request_id: String,
    /// Every entity to lock, in the global (sorted) order.
    pub lock_set: Vec<EntityId>,
    /// The index in `lock_set` of the entity this request is for.
    pub position: usize,
}

/// Ends the critical section `request_id` of `owner` on an entity. With `chain` set, each
/// entity that held the lock passes the release on to the next one of the lock set: an
/// orchestration that ends before its lock was granted cannot know how far the request got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockRelease {
    /// The orchestration instance that held the lock.
    pub owner: String,
    /// The critical section.
    pub request_id: String,
    /// Whether to pass the release along the lock set.
    #[serde(default)]
    pub chain: bool,
}

/// A message in an entity's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EntityMessage {
    /// Run an operation.
    #[serde(rename = "op")]
    Operation(OperationRequest),
    /// Lock the entity for a critical section.
    #[serde(rename = "lock")]
    Lock(LockRequest),
    /// Unlock it.
    #[serde(rename = "release")]
    Release(LockRelease),
}

impl EntityMessage {
    /// The event that carries the message: an `EventRaised` named for its kind.
    pub fn to_event(&self) -> EventKind {
        let (name, input) = self.name_and_body();
        EventKind::EventRaised { name: name.to_owned(), input }
    }

    /// The name of the event that carries the message, and the message as its data.
    pub fn name_and_body(&self) -> (&'static str, Value) {
        // Structs of strings and JSON values always serialize.
        let (name, body) = match self {
            EntityMessage::Operation(request) => ("op", serde_json::to_value(request)),
            EntityMessage::Lock(request) => ("lock", serde_json::to_value(request)),
            EntityMessage::Release(release) => ("release", serde_json::to_value(release)),
        };
        (name, body.unwrap_or(Value::Null))
    }

    /// The message an event named `name` with `input` carries, if its name is one of an
    /// entity message; `Some(Err)` when the input does not read as one.
    pub fn from_event(name: &str, input: &Value) -> Option<Result<Self, serde_json::Error>> {
        let read = match name {
            "op" => OperationRequest::deserialize(input).map(EntityMessage::Operation),
            "lock" => LockRequest::deserialize(input).map(EntityMessage::Lock),
            "release" => LockRelease::deserialize(input).map(EntityMessage::Release),
            _ => return None,
        };
        Some(read)
    }

    /// The message to the entity `id`, sent at `now`, delivered at `at` (or at once).
    pub fn to_message(
        &self,
        id: &EntityId,
        at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> OrchestrationMessage {
        OrchestrationMessage {
            visible_at: at,
            instance_id: id.to_string(),
            execution_id: None,
            event: HistoryEvent::new(now, self.to_event()),
        }
    }
}

/// What a caller receives: an operation's result or its failure, or (for a lock request) the
/// grant. It is raised in the caller as an event named for the request id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityResponse {
    /// The operation's return value (`null` when it returned none).
    #[serde(default)]
    pub result: Value,
    /// Set when the operation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureDetails>,
}

impl EntityResponse {
    /// The response to `request_id` as the event raised in the caller.
    pub fn to_event(&self, request_id: &str) -> EventKind {
        EventKind::EventRaised {
            name: request_id.to_owned(),
            // A struct of JSON values and strings always serializes.
            input: serde_json::to_value(self).unwrap_or(Value::Null),
        }
    }

    /// The response to `request_id` as the message raised in `caller`.
    pub fn to_message(
        &self,
        caller: &str,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> OrchestrationMessage {
        OrchestrationMessage {
            visible_at: None,
            instance_id: caller.to_owned(),
            execution_id: None,
            event: HistoryEvent::new(now, self.to_event(request_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn messages_travel_as_events_named_for_their_kind() {
        let id = EntityId::new("Counter", "k").unwrap_or_else(|e| panic!("{e}"));
        let messages = [
            EntityMessage::Operation(OperationRequest::signal("add", Some(json!(5)))),
            EntityMessage::Lock(LockRequest {
                owner: "o".into(),
                request_id: "r".into(),
                lock_set: vec![id.clone()],
                position: 0,
            }),
            EntityMessage::Release(LockRelease {
                owner: "o".into(),
                request_id: "r".into(),
                chain: true,
            }),
        ];
        for message in messages {
            let EventKind::EventRaised { name, input } = message.to_event() else {
                panic!("not an event");
            };
            let read = EntityMessage::from_event(&name, &input).map(Result::ok);
            assert_eq!(read, Some(Some(message)));
        }
        assert!(EntityMessage::from_event("Approval", &json!(true)).is_none());
        assert!(matches!(EntityMessage::from_event("op", &json!(3)), Some(Err(_))));
    }
}
