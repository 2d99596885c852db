//! How an entity lives in the store: as the instance `@name@key`, whose current execution's
//! input is its [`EntityRecord`], and whose inbox holds [`EntityMessage`]s as events. A turn
//! commits a new record as the input of a fresh execution (as `continue_as_new` does), so the
//! store keeps no history for entities.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::{EntityMessage, LockRequest};

/// An entity's record: its state, the critical section holding its lock, and the messages
/// waiting for that lock (or for the next batch). The record an entity is created with also
/// holds the messages that created it, to run first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityRecord {
    /// Whether the entity has a state (a state may be JSON `null`).
    #[serde(default)]
    pub exists: bool,
    /// The state, when it exists.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub state: Value,
    /// Messages to run when the entity is created: each at once, or at its time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<QueuedMessage>,
    /// The critical section that holds the entity's lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockRequest>,
    /// Messages that arrived but wait, in arrival order: for the lock to be released, or for
    /// the next batch when a batch was full.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backlog: Vec<EntityMessage>,
}

/// A message handed over with an entity's creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedMessage {
    /// The message.
    pub message: EntityMessage,
    /// When to deliver it; at once when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl EntityRecord {
    /// The record of a new entity that is to receive `message` (at `at`, or at once).
    pub fn created_for(message: EntityMessage, at: Option<DateTime<Utc>>) -> Self {
        EntityRecord { queue: vec![QueuedMessage { message, at }], ..EntityRecord::default() }
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

    /// Sets the state (`None`: the entity has none).
    pub fn set_state(&mut self, state: Option<Value>) {
        self.exists = state.is_some();
        self.state = state.unwrap_or(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::history::OperationRequest;

    #[test]
    fn records_keep_a_null_state_apart_from_none() {
        let mut null = EntityRecord::default();
        null.set_state(Some(Value::Null));
        let read = EntityRecord::read(&null.to_value()).unwrap();
        assert_eq!(read.state(), Some(&Value::Null));
        let none = EntityRecord::read(&EntityRecord::default().to_value()).unwrap();
        assert_eq!(none.state(), None);
        assert_eq!(EntityRecord::read(&Value::Null).unwrap().state(), None);
    }

    #[test]
    fn a_created_record_carries_its_first_message() {
        let message = EntityMessage::Operation(OperationRequest::signal("add", Some(json!(5))));
        let created = EntityRecord::created_for(message.clone(), None);
        assert_eq!(EntityRecord::read(&created.to_value()).unwrap().queue[0].message, message);
    }
}
