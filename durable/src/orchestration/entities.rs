//! What an orchestration does with entities: call them (and await the result), signal them,
//! and lock a set of them for a critical section. Each is an event sent to the entity and
//! recorded as `EventSent`; a response comes back as an event named for the request.

use std::ops::Deref;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::action::{Action, SentEvent};
use super::context::{DurableOrchestrationContext, State, TaskOutcome, invalid_input};
use super::task::{DurableFuture, DurableTask};
use crate::error::FunctionFailed;
use crate::function::{EntityChannel, EntityType};
use crate::history::{
    EntityId, EntityMessage, EntityResponse, FailureDetails, FailureKind, Limit, LockRelease,
    LockRequest, OperationRequest,
};

/// The critical section an orchestration is in: its lock set in the global order, and whether
/// every lock is held yet.
#[derive(Debug, Clone)]
pub(crate) struct CriticalSection {
    request_id: String,
    entities: Vec<EntityId>,
    granted: bool,
}

impl State {
    /// Takes the response to an entity call or lock request named `name`: `None` when no
    /// call awaits it (it is an ordinary external event), else the waker to wake.
    pub(crate) fn entity_response(
        &mut self,
        name: &str,
        input: &Value,
    ) -> Option<Option<std::task::Waker>> {
        let slot = self.entity_calls.remove(name)?;
        let outcome = match EntityResponse::deserialize(input) {
            Ok(EntityResponse { failure: Some(failure), .. }) => TaskOutcome::Failed(failure),
            Ok(EntityResponse { result, .. }) => TaskOutcome::Completed(result),
            Err(error) => TaskOutcome::Failed(FailureDetails::new(
                FailureKind::InvalidOutput,
                format!("an entity's response does not read: {error}"),
            )),
        };
        self.results.insert(slot, outcome);
        Some(self.waiters.remove(&slot))
    }

    /// Ends the critical section the execution is in as it finishes: the releases to send.
    /// They travel along the lock set, since the lock may not have reached every entity.
    pub(crate) fn end_critical_section(&mut self) -> Vec<SentEvent> {
        let Some(section) = self.critical_section.take() else {
            return Vec::new();
        };
        let release = LockRelease {
            owner: self.instance_id.clone(),
            request_id: section.request_id,
            chain: true,
        };
        section
            .entities
            .first()
            .map(|first| to_entity(first, &EntityMessage::Release(release), None))
            .into_iter()
            .collect()
    }
}

/// Whether a sent event releases a lock (it is sent even when the execution failed).
pub(crate) fn is_release(event: &SentEvent) -> bool {
    matches!(
        EntityMessage::from_event(&event.name, &event.input),
        Some(Ok(EntityMessage::Release(_)))
    )
}

fn to_entity(target: &EntityId, message: &EntityMessage, at: Option<DateTime<Utc>>) -> SentEvent {
    let (name, input) = message.name_and_body();
    SentEvent { instance_id: target.to_string(), name: name.to_owned(), input, at }
}

/// Why an entity call, a lock or a sub-orchestration is refused inside a critical section.
fn locking_violation(what: &str, message: String) -> FunctionFailed {
    FunctionFailed {
        details: FailureDetails::new(FailureKind::LockingRulesViolation, message),
        function: what.to_owned(),
    }
}

impl DurableOrchestrationContext {
    /// Calls `operation` on the entity `id` and returns its pending result
    /// (`CallEntityAsync<T>` in C#). The entity is created if it does not exist. An
    /// operation that fails fails the task with [`FunctionFailed`] carrying its details.
    /// Inside a critical section only the locked entities may be called (in parallel, if
    /// you like).
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// # async fn f(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    /// let counter = EntityId::new("Counter", "myCounter")?;
    /// context.call_entity::<()>(&counter, "add", 1).await?;
    /// let value: i32 = context.call_entity(&counter, "get", ()).await?;
    /// # Ok(()) }
    /// ```
    pub fn call_entity<T: DeserializeOwned>(
        &self,
        id: &EntityId,
        operation: &str,
        input: impl Serialize,
    ) -> DurableTask<T> {
        let label = format!("{id}:{operation}");
        let input = match serde_json::to_value(input) {
            Ok(input) => input,
            Err(e) => {
                return invalid_input(&label, format!("its input could not be serialized: {e}"));
            }
        };
        if let Err(refused) = self.check_input(&label, &input) {
            return refused;
        }
        let outside = self.state.with(|s| {
            s.critical_section.as_ref().is_some_and(|section| !section.entities.contains(id))
        });
        if outside {
            return DurableTask::failed(locking_violation(
                &label,
                format!("a critical section may only call the entities it locked, not `{id}`"),
            ));
        }
        let request_id = self.new_guid().to_string();
        let message = EntityMessage::Operation(OperationRequest {
            operation: operation.to_owned(),
            input: Some(input),
            sender: Some(self.instance_id()),
            request_id: Some(request_id.clone()),
        });
        self.send_and_await(id, &message, request_id, label)
    }

    /// Sends `operation` to the entity `id`, one-way (`SignalEntity` in C#). The entity is
    /// created if it does not exist. An input that cannot be serialized, or is over
    /// `maxEventSize`, fails the orchestration, saying so.
    pub fn signal_entity(&self, id: &EntityId, operation: &str, input: impl Serialize) {
        self.signal(id, operation, input, None);
    }

    /// Sends `operation` to the entity `id`, delivered at `at` (`SignalEntity` with a
    /// scheduled time in C#).
    pub fn signal_entity_at(
        &self,
        id: &EntityId,
        at: DateTime<Utc>,
        operation: &str,
        input: impl Serialize,
    ) {
        self.signal(id, operation, input, Some(at));
    }

    fn signal(
        &self,
        id: &EntityId,
        operation: &str,
        input: impl Serialize,
        at: Option<DateTime<Utc>>,
    ) {
        let input = match serde_json::to_value(input) {
            Ok(input) => input,
            Err(e) => {
                return self
                    .unserializable(&format!("the input of signal `{operation}` to `{id}`"), &e);
            }
        };
        let what = format!("the input of signal `{operation}` to `{id}`");
        if let Err(failure) = self.check(Limit::Event, &what, &input) {
            return self.fail_with(failure);
        }
        let message = EntityMessage::Operation(OperationRequest {
            operation: operation.to_owned(),
            input: Some(input),
            sender: Some(self.instance_id()),
            request_id: None,
        });
        self.send(id, &message, at);
    }

    /// Locks `entities` for a critical section (`LockAsync` in C#) and returns its guard once
    /// every one is held; dropping the guard (or the execution ending, failing or being
    /// terminated) releases them. While the section lasts, no one else's operations run on
    /// them, only they may be called, and neither another lock nor a sub-orchestration may be
    /// started. Entities are locked in one global order, so two orchestrations locking the
    /// same entities in different orders cannot deadlock.
    ///
    /// ```no_run
    /// # use durable::prelude::*;
    /// # async fn f(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    /// let from = EntityId::new("Account", "alice")?;
    /// let to = EntityId::new("Account", "bob")?;
    /// let _guard = context.lock(&[from.clone(), to.clone()]).await?;
    /// let balance: i64 = context.call_entity(&from, "get", ()).await?;
    /// if balance >= 10 {
    ///     let withdraw = context.call_entity::<()>(&from, "add", -10);
    ///     let deposit = context.call_entity::<()>(&to, "add", 10);
    ///     when_all([withdraw, deposit]).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn lock(&self, entities: &[EntityId]) -> DurableFuture<EntityLock> {
        let mut lock_set = entities.to_vec();
        lock_set.sort();
        lock_set.dedup();
        let refused = if lock_set.is_empty() {
            Some(FunctionFailed {
                details: FailureDetails::new(
                    FailureKind::InvalidInput,
                    "a critical section needs at least one entity",
                ),
                function: "lock".to_owned(),
            })
        } else if self.state.with(|s| s.critical_section.is_some()) {
            Some(locking_violation("lock", "critical sections cannot be nested".to_owned()))
        } else {
            None
        };
        if let Some(refused) = refused {
            return Box::pin(std::future::ready(Err(refused)));
        }
        let request_id = self.new_guid().to_string();
        let owner = self.instance_id();
        let first = lock_set[0].clone();
        let message = EntityMessage::Lock(LockRequest {
            owner,
            request_id: request_id.clone(),
            lock_set: lock_set.clone(),
            position: 0,
        });
        self.state.with(|s| {
            s.critical_section = Some(CriticalSection {
                request_id: request_id.clone(),
                entities: lock_set,
                granted: false,
            })
        });
        let granted: DurableTask<Value> =
            self.send_and_await(&first, &message, request_id.clone(), "lock".to_owned());
        let context = self.clone();
        Box::pin(async move {
            granted.await?;
            context.state.with(|s| {
                if let Some(section) = &mut s.critical_section {
                    section.granted = true;
                }
            });
            Ok(EntityLock { context, request_id })
        })
    }

    /// Whether the orchestration is in a critical section (`IsLocked` in C#).
    pub fn is_locked(&self) -> bool {
        self.state.with(|s| s.critical_section.as_ref().is_some_and(|c| c.granted))
    }

    /// The entities the orchestration holds locked; empty outside a critical section.
    pub fn locked_entities(&self) -> Vec<EntityId> {
        self.state.with(|s| match &s.critical_section {
            Some(section) if section.granted => section.entities.clone(),
            _ => Vec::new(),
        })
    }

    /// The struct-based entity `E` with `key`, through its typed proxy: each operation is a
    /// method whose input and output types are checked at compile time. Called operations
    /// return a [`DurableTask`]; [`OrchestrationEntity::signal`] sends them one-way.
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
    /// # async fn f(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    /// context.entity::<Counter>("k1").add(5).await?;
    /// let total: i32 = context.entity::<Counter>("k1").get().await?;
    /// context.entity::<Counter>("k1").signal().add(total);
    /// # Ok(()) }
    /// ```
    pub fn entity<E: EntityType>(&self, key: &str) -> OrchestrationEntity<E> {
        let id = EntityId::new(E::NAME, key);
        OrchestrationEntity {
            calls: E::proxy(EntityCall { context: self.clone(), id: id.clone() }),
            signals: (self.clone(), id),
        }
    }

    /// Whether a sub-orchestration may start now; the task that refuses it if not.
    pub(super) fn check_sub_orchestration<T>(&self, name: &str) -> Option<DurableTask<T>> {
        self.state.with(|s| s.critical_section.is_some()).then(|| {
            DurableTask::failed(locking_violation(
                name,
                "a critical section cannot start a sub-orchestration".to_owned(),
            ))
        })
    }

    /// Sends `message` to `target` and returns the task awaiting the response `request_id`.
    fn send_and_await<T>(
        &self,
        target: &EntityId,
        message: &EntityMessage,
        request_id: String,
        label: String,
    ) -> DurableTask<T> {
        let event = to_entity(target, message, None);
        let mut slot = 0;
        let task = self.schedule(Arc::from(label), |event_id| {
            slot = event_id;
            Action::SendEvent { event_id, event }
        });
        // The response fills the task's own slot, as an activity's result would.
        self.state.with(|s| s.entity_calls.insert(request_id, slot));
        task
    }

    fn send(&self, target: &EntityId, message: &EntityMessage, at: Option<DateTime<Utc>>) {
        let event = to_entity(target, message, at);
        let _sent: DurableTask<()> =
            self.schedule(Arc::from("signal"), |event_id| Action::SendEvent { event_id, event });
    }
}

/// A critical section's locks, held while it lives (the `IDisposable` of `LockAsync` in C#).
/// Dropping it releases every locked entity.
#[must_use = "the locks are released when the guard is dropped"]
#[derive(Debug)]
pub struct EntityLock {
    context: DurableOrchestrationContext,
    request_id: String,
}

impl EntityLock {
    /// Releases the locks now (the same as dropping the guard).
    pub fn release(self) {}
}

impl Drop for EntityLock {
    fn drop(&mut self) {
        let section = self
            .context
            .state
            .with(|s| s.critical_section.take_if(|section| section.request_id == self.request_id));
        let Some(section) = section else {
            return;
        };
        let release = EntityMessage::Release(LockRelease {
            owner: self.context.instance_id(),
            request_id: section.request_id,
            chain: false,
        });
        for entity in &section.entities {
            self.context.send(entity, &release, None);
        }
    }
}

/// A struct-based entity as an orchestration sees it (from
/// [`DurableOrchestrationContext::entity`]): it dereferences to the typed proxy whose methods
/// call the entity's operations; [`signal`](Self::signal) gives the proxy that signals them.
pub struct OrchestrationEntity<E: EntityType> {
    calls: E::Proxy<EntityCall>,
    signals: (DurableOrchestrationContext, Result<EntityId, crate::history::EntityIdError>),
}

impl<E: EntityType> OrchestrationEntity<E> {
    /// The proxy whose operations are sent one-way.
    pub fn signal(&self) -> E::Proxy<EntitySignal> {
        let (context, id) = &self.signals;
        E::proxy(EntitySignal { context: context.clone(), id: id.clone() })
    }
}

impl<E: EntityType> Deref for OrchestrationEntity<E> {
    type Target = E::Proxy<EntityCall>;

    fn deref(&self) -> &Self::Target {
        &self.calls
    }
}

/// The channel of an orchestration's calls to an entity: each operation is a
/// [`DurableTask`].
#[derive(Debug, Clone)]
pub struct EntityCall {
    context: DurableOrchestrationContext,
    id: Result<EntityId, crate::history::EntityIdError>,
}

impl EntityChannel for EntityCall {
    type Output<T: DeserializeOwned + Send + 'static> = DurableTask<T>;

    fn operation<T: DeserializeOwned + Send + 'static>(
        &self,
        operation: &'static str,
        input: impl Serialize,
    ) -> DurableTask<T> {
        match &self.id {
            Ok(id) => self.context.call_entity(id, operation, input),
            Err(error) => invalid_input(operation, error.to_string()),
        }
    }
}

/// The channel of an orchestration's signals to an entity: nothing comes back.
#[derive(Debug, Clone)]
pub struct EntitySignal {
    context: DurableOrchestrationContext,
    id: Result<EntityId, crate::history::EntityIdError>,
}

impl EntityChannel for EntitySignal {
    type Output<T: DeserializeOwned + Send + 'static> = ();

    fn operation<T: DeserializeOwned + Send + 'static>(
        &self,
        operation: &'static str,
        input: impl Serialize,
    ) {
        match &self.id {
            Ok(id) => self.context.signal_entity(id, operation, input),
            Err(error) => self.context.fail_with(FailureDetails::new(
                FailureKind::InvalidInput,
                format!("cannot signal `{operation}`: {error}"),
            )),
        }
    }
}
