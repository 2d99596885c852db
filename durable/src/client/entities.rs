//! The client's entity operations: signal an entity (creating it when it does not exist) and
//! read its state.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DurableError, DurableOrchestrationClient};
use crate::backend::{BackendError, NewInstance};
use crate::entity::{EntityId, EntityRecord, OperationRequest, operation_message};
use crate::history::new_id;

/// An entity's state as the client reads it (`EntityStateResponse<T>` in C#).
#[derive(Debug, Clone, PartialEq)]
pub struct EntityStateResponse<T> {
    /// Whether the entity exists: it has a state.
    pub entity_exists: bool,
    /// Its state, when it exists.
    pub entity_state: Option<T>,
}

impl DurableOrchestrationClient {
    /// Sends `operation` with `input` to the entity `id`, one-way (`SignalEntityAsync` in
    /// C#); the entity is created if it does not exist. It returns once the signal is stored.
    ///
    /// ```no_run
    /// # async fn signal(client: durable::DurableOrchestrationClient) -> Result<(), durable::DurableError> {
    /// use durable::EntityId;
    ///
    /// let counter = EntityId::new("Counter", "myCounter")?;
    /// client.signal_entity(&counter, "add", 5).await?;
    /// # Ok(()) }
    /// ```
    pub async fn signal_entity(
        &self,
        id: &EntityId,
        operation: &str,
        input: impl Serialize,
    ) -> Result<(), DurableError> {
        self.signal(id, operation, input, None).await
    }

    /// Sends `operation` to the entity `id`, to run at `at` (`SignalEntityAsync` with a
    /// scheduled time).
    pub async fn signal_entity_at(
        &self,
        id: &EntityId,
        at: DateTime<Utc>,
        operation: &str,
        input: impl Serialize,
    ) -> Result<(), DurableError> {
        self.signal(id, operation, input, Some(at)).await
    }

    async fn signal(
        &self,
        id: &EntityId,
        operation: &str,
        input: impl Serialize,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), DurableError> {
        if operation.is_empty() {
            return Err(DurableError::InvalidRequest {
                message: format!("the operation name for entity `{id}` is empty"),
            });
        }
        let input = serde_json::to_value(input).map_err(DurableError::Serialization)?;
        let request = OperationRequest { operation: operation.to_owned(), input: Some(input) };
        let now = self.clock.now();
        let created = NewInstance {
            instance_id: id.to_string(),
            name: id.name().to_owned(),
            execution_id: new_id(),
            input: EntityRecord::created_for(request.clone(), at).to_value(),
            created_at: now,
            version: String::new(),
            parent: None,
        };
        // Created with the operation, or, if it exists, sent it: each one atomic write.
        match self.backend.create_instance(created).await {
            Ok(()) => Ok(()),
            Err(BackendError::InstanceExists { .. }) => {
                let message = operation_message(id, &request, at, now);
                Ok(self.backend.send_message(message).await?)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Reads the state of the entity `id` as `T` (`ReadEntityStateAsync<T>` in C#). An
    /// entity that was never signalled, or whose state was deleted, does not exist.
    pub async fn read_entity_state<T: DeserializeOwned>(
        &self,
        id: &EntityId,
    ) -> Result<EntityStateResponse<T>, DurableError> {
        let entity_id = id.to_string();
        let Some(record) = self.backend.get_instance(&entity_id).await? else {
            return Ok(EntityStateResponse { entity_exists: false, entity_state: None });
        };
        let unreadable =
            |source| DurableError::EntityState { entity_id: entity_id.clone(), source };
        let record = EntityRecord::read(&record.input).map_err(unreadable)?;
        let entity_state = match record.state() {
            Some(state) => Some(T::deserialize(state).map_err(unreadable)?),
            None => None,
        };
        Ok(EntityStateResponse { entity_exists: entity_state.is_some(), entity_state })
    }
}
