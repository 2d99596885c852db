//! How an entity lives in the store: as the instance `@name@key`, whose current execution's
//! input is its [`EntityRecord`], and whose inbox holds operation requests as events named
//! [`OPERATION_EVENT`]. A batch commits a new record as the input of a fresh execution (as
//! `continue_as_new` does), so the store keeps no history for entities.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EntityId, OperationRequest};
use crate::history::{EventKind, HistoryEvent, OrchestrationMessage};

/// The name of the event that carries an [`OperationRequest`] to an entity.
pub const OPERATION_EVENT: &str = "op";

/// An entity's record: whether it has a state, the state, and (only in the record an entity
/// is created with) the operations that created it, to run first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityRecord {
    /// Whether the entity has a state (a state may be JSON `null`).
    #[serde(default)]
    pub exists: bool,
    /// The state, when it exists.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub state: Value,
    /// Operations to run when the entity is created: each at once, or at its time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<QueuedOperation>,
}

/// An operation handed over with an entity's creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedOperation {
    /// The operation.
    #[serde(flatten)]
    pub request: OperationRequest,
    /// When to run it; at once when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl EntityRecord {
    /// The record of a new entity that is to run `request` (at `at`, or at once).
    pub fn created_for(request: OperationRequest, at: Option<DateTime<Utc>>) -> Self {
        EntityRecord { queue: vec![QueuedOperation { request, at }], ..EntityRecord::default() }
    }

    /// The record of an entity whose state is `state` (`None`: it has none).
    pub fn with_state(state: Option<Value>) -> Self {
        EntityRecord {
            exists: state.is_some(),
            state: state.unwrap_or(Value::Null),
            queue: Vec::new(),
        }
    }

    /// Reads a record from an entity instance's input (`null` reads as a new entity).
    pub fn read(input: &Value) -> Result<Self, serde_json::Error> {
        match input {
            Value::Null => Ok(EntityRecord::default()),
            input => EntityRecord::deserialize(input),
        }
    }

    /// The record as an instance input.
    pub fn to_value(&self) -> Value {
        // A struct of JSON values and strings always serializes.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The state, when the entity has one.
    pub fn state(&self) -> Option<&Value> {
        self.exists.then_some(&self.state)
    }
}

/// The event that delivers `request` to an entity.
pub fn operation_event(request: &OperationRequest) -> EventKind {
    EventKind::EventRaised {
        name: OPERATION_EVENT.to_owned(),
        // A struct of a string and a JSON value always serializes.
        input: serde_json::to_value(request).unwrap_or(Value::Null),
    }
}

/// `request` as a message to the entity `id`, sent at `now`, delivered at `at` (or at once).
pub fn operation_message(
    id: &EntityId,
    request: &OperationRequest,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> OrchestrationMessage {
    OrchestrationMessage {
        visible_at: at,
        instance_id: id.to_string(),
        execution_id: None,
        event: HistoryEvent::new(now, operation_event(request)),
    }
}

/// The operation request an event carries, if it is one.
pub fn operation_of(event: &EventKind) -> Option<Result<OperationRequest, serde_json::Error>> {
    match event {
        EventKind::EventRaised { name, input } if name == OPERATION_EVENT => {
            Some(OperationRequest::deserialize(input))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn records_keep_a_null_state_apart_from_none() {
        let null = EntityRecord::with_state(Some(Value::Null));
        let read = EntityRecord::read(&null.to_value()).unwrap();
        assert_eq!(read.state(), Some(&Value::Null));
        let none = EntityRecord::read(&EntityRecord::with_state(None).to_value()).unwrap();
        assert_eq!(none.state(), None);
        assert_eq!(EntityRecord::read(&Value::Null).unwrap().state(), None);
    }

    #[test]
    fn operations_travel_as_events() {
        let request = OperationRequest { operation: "add".into(), input: Some(json!(5)) };
        let event = operation_event(&request);
        assert_eq!(operation_of(&event).map(Result::ok), Some(Some(request.clone())));
        let other = EventKind::EventRaised { name: "Approval".into(), input: json!(true) };
        assert!(operation_of(&other).is_none());
        let created = EntityRecord::created_for(request.clone(), None);
        assert_eq!(EntityRecord::read(&created.to_value()).unwrap().queue[0].request, request);
    }
}
