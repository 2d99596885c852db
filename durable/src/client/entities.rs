//! The client's entity operations: signal an entity (creating it when it does not exist) and
//! read its state.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DurableError, DurableOrchestrationClient};
use crate::backend::{BackendError, NewInstance};
use crate::entity::{EntityId, EntityIdError, EntityMessage, EntityRecord, OperationRequest};
use crate::function::{BoxFuture, EntityChannel, EntityType};
use crate::history::{Limit, new_id};

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
        let what = format!("the input of signal `{operation}` to `{id}`");
        self.limits.check(Limit::Event, what, &input)?;
        let message = EntityMessage::Operation(OperationRequest::signal(operation, Some(input)));
        let now = self.clock.now();
        // Sent to the entity, or, when it does not exist yet, created with it: each one atomic
        // write. Sending first keeps the common case one plain insert, which never waits
        // on the entity's row.
        let sent = self.backend.send_message(message.to_message(id, at, now)).await;
        match sent {
            Err(BackendError::InstanceNotFound { .. }) => {}
            other => return Ok(other?),
        }
        let created = NewInstance {
            instance_id: id.to_string(),
            name: id.name().to_owned(),
            execution_id: new_id(),
            input: EntityRecord::created_for(message.clone(), at).to_value(),
            created_at: now,
            version: String::new(),
            parent: None,
            start_at: None,
            trace: None,
        };
        match self.backend.create_instance(created).await {
            Ok(()) => Ok(()),
            // Someone else created it meanwhile.
            Err(BackendError::InstanceExists { .. }) => {
                Ok(self.backend.send_message(message.to_message(id, at, now)).await?)
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

impl DurableOrchestrationClient {
    /// The struct-based entity `E` with `key`, through its typed proxy: its operations'
    /// names and input types are checked at compile time.
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Default, Serialize, Deserialize)]
    /// pub struct Counter {
    ///     value: i32,
    /// }
    ///
    /// #[entity_trigger]
    /// impl Counter {
    ///     pub fn add(&mut self, amount: i32) {
    ///         self.value += amount;
    ///     }
    ///
    ///     pub fn get(&self) -> i32 {
    ///         self.value
    ///     }
    /// }
    ///
    /// # async fn f(client: DurableOrchestrationClient) -> Result<(), DurableError> {
    /// client.entity::<Counter>("k1").signal().add(5).await?;
    /// let state = client.entity::<Counter>("k1").read_state().await?;
    /// # Ok(()) }
    /// ```
    pub fn entity<E: EntityType>(&self, key: &str) -> ClientEntity<E> {
        ClientEntity { client: self.clone(), id: EntityId::new(E::NAME, key), _entity: PhantomData }
    }
}

/// A struct-based entity as a client sees it (from [`DurableOrchestrationClient::entity`]).
pub struct ClientEntity<E> {
    client: DurableOrchestrationClient,
    id: Result<EntityId, EntityIdError>,
    _entity: PhantomData<fn() -> E>,
}

impl<E: EntityType> ClientEntity<E> {
    /// The proxy whose operations are signalled now.
    pub fn signal(&self) -> E::Proxy<ClientSignal> {
        E::proxy(ClientSignal { client: self.client.clone(), id: self.id.clone(), at: None })
    }

    /// The proxy whose operations are signalled to run at `at`.
    pub fn signal_at(&self, at: DateTime<Utc>) -> E::Proxy<ClientSignal> {
        E::proxy(ClientSignal { client: self.client.clone(), id: self.id.clone(), at: Some(at) })
    }

    /// Reads the entity's state (see [`DurableOrchestrationClient::read_entity_state`]).
    pub async fn read_state(&self) -> Result<EntityStateResponse<E>, DurableError> {
        let id = self.id.clone()?;
        self.client.read_entity_state(&id).await
    }
}

/// The channel of a client's signals to an entity: each operation is a future that resolves
/// once the signal is stored.
#[derive(Clone)]
pub struct ClientSignal {
    client: DurableOrchestrationClient,
    id: Result<EntityId, EntityIdError>,
    at: Option<DateTime<Utc>>,
}

impl EntityChannel for ClientSignal {
    type Output<T: DeserializeOwned + Send + 'static> =
        BoxFuture<'static, Result<(), DurableError>>;

    fn operation<T: DeserializeOwned + Send + 'static>(
        &self,
        operation: &'static str,
        input: impl Serialize,
    ) -> Self::Output<T> {
        let input = serde_json::to_value(input).map_err(DurableError::Serialization);
        let signal = self.clone();
        Box::pin(async move {
            let id = signal.id?;
            signal.client.signal(&id, operation, input?, signal.at).await
        })
    }
}
