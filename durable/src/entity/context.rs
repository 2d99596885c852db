//! [`DurableEntityContext`]: what an entity function sees of the operation it runs.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::EntityId;

/// What an operation asks to happen once its batch commits.
#[derive(Debug, Clone, PartialEq)]
pub enum EntityAction {
    /// A one-way operation on another (or the same) entity, at once or at `at`.
    Signal {
        /// The entity to signal.
        target: EntityId,
        /// The operation's name.
        operation: String,
        /// The operation's input, if any.
        input: Option<Value>,
        /// When to deliver it; `None` delivers it at once.
        at: Option<DateTime<Utc>>,
    },
    /// A new orchestration instance.
    StartOrchestration {
        /// The orchestrator function's name.
        name: String,
        /// The new instance's id.
        instance_id: String,
        /// Its input.
        input: Value,
    },
}

/// A state, input or value that does not serialize, or does not deserialize as the type
/// asked for.
#[derive(Debug, thiserror::Error)]
#[error("entity `{entity}`: {what}: {source}")]
pub struct EntityError {
    entity: String,
    what: &'static str,
    #[source]
    source: serde_json::Error,
}

/// What an entity function receives (`IDurableEntityContext` in C#): the entity, the
/// operation to run with its input, and the entity's state to read and change.
///
/// Cloning it is cheap; every clone works on the same operation.
///
/// ```
/// use durable::entity::DurableEntityContext;
///
/// async fn counter(ctx: DurableEntityContext) -> Result<(), durable::entity::EntityError> {
///     match ctx.operation_name().as_str() {
///         "add" => {
///             let amount: i64 = ctx.get_input().unwrap_or_default();
///             let current: i64 = ctx.get_state()?;
///             ctx.set_state(current + amount)?;
///         }
///         "reset" => ctx.set_state(0)?,
///         "get" => ctx.return_value(ctx.get_state::<i64>()?)?,
///         "delete" => ctx.delete_state(),
///         _ => {}
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct DurableEntityContext {
    id: Arc<EntityId>,
    operation: Arc<Mutex<Operation>>,
}

/// One operation's view: set up by the batch, changed by the entity function.
#[derive(Debug, Default)]
pub(super) struct Operation {
    pub(super) name: String,
    pub(super) input: Option<Value>,
    pub(super) state: Option<Value>,
    pub(super) result: Option<Value>,
    pub(super) actions: Vec<EntityAction>,
    /// Whether the operation deleted the state (and has not set one since), so that a
    /// struct-based entity does not write its value back over the deletion.
    pub(super) deleted: bool,
}

tokio::task_local! {
    /// The context of the operation running on this task, for [`DurableEntityContext::current`].
    static CURRENT: DurableEntityContext;
}

impl DurableEntityContext {
    pub(super) fn new(id: Arc<EntityId>, operation: Operation) -> Self {
        DurableEntityContext { id, operation: Arc::new(Mutex::new(operation)) }
    }

    /// What the operation left: its state, result and actions.
    pub(super) fn finish(&self) -> Operation {
        std::mem::take(&mut *self.operation())
    }

    /// Runs `operation` with this context as [`DurableEntityContext::current`].
    pub(super) fn scope<F: Future>(&self, operation: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self.clone(), operation)
    }

    /// The context of the entity operation running on this task (`Entity.Current` in C#):
    /// `None` outside an operation, or in a task the operation spawned.
    ///
    /// A struct-based entity's methods take no context; they reach it here to signal
    /// other entities, start orchestrations, read their key or delete their state.
    ///
    /// ```
    /// use durable::prelude::*;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Default, Serialize, Deserialize)]
    /// pub struct Doorbell {
    ///     rings: u32,
    /// }
    ///
    /// #[entity_trigger]
    /// impl Doorbell {
    ///     /// Rings, and tells the house's counter, keyed like this doorbell.
    ///     pub fn ring(&mut self) -> Result<(), EntityError> {
    ///         self.rings += 1;
    ///         if let Some(ctx) = DurableEntityContext::current() {
    ///             let counter = EntityId::new("Counter", ctx.entity_key())
    ///                 .expect("`Counter` is a valid entity name");
    ///             ctx.signal_entity(&counter, "add", 1)?;
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// // Outside an operation there is none.
    /// assert!(DurableEntityContext::current().is_none());
    /// ```
    pub fn current() -> Option<DurableEntityContext> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Whether the operation deleted the state and did not set one since.
    pub(crate) fn state_deleted(&self) -> bool {
        self.operation().deleted
    }

    fn operation(&self) -> MutexGuard<'_, Operation> {
        // An operation that panicked holding the lock is rolled back anyway.
        self.operation.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self, what: &'static str, source: serde_json::Error) -> EntityError {
        EntityError { entity: self.id.to_string(), what, source }
    }

    /// The entity's name, lower-cased (`EntityName`).
    pub fn entity_name(&self) -> &str {
        self.id.name()
    }

    /// The entity's key (`EntityKey`).
    pub fn entity_key(&self) -> &str {
        self.id.key()
    }

    /// The entity's id (`EntityId`).
    pub fn entity_id(&self) -> &EntityId {
        &self.id
    }

    /// The name of the operation to run (`OperationName`).
    pub fn operation_name(&self) -> String {
        self.operation().name.clone()
    }

    /// Whether the entity has a state (`HasState`): it does once an operation set one, until
    /// one deletes it.
    pub fn has_state(&self) -> bool {
        self.operation().state.is_some()
    }

    /// The state as `T`, or `T::default()` when the entity has none (`GetState<T>()`).
    pub fn get_state<T: DeserializeOwned + Default>(&self) -> Result<T, EntityError> {
        self.get_state_or_else(T::default)
    }

    /// The state as `T`, or `initializer()` when the entity has none
    /// (`GetState<T>(Func<T> initializer)`).
    pub fn get_state_or_else<T: DeserializeOwned>(
        &self,
        initializer: impl FnOnce() -> T,
    ) -> Result<T, EntityError> {
        match self.operation().state.clone() {
            Some(state) => {
                serde_json::from_value(state).map_err(|e| self.error("reading the state", e))
            }
            None => Ok(initializer()),
        }
    }

    /// Replaces the state (`SetState`).
    pub fn set_state<T: Serialize>(&self, state: T) -> Result<(), EntityError> {
        let state = serde_json::to_value(state).map_err(|e| self.error("writing the state", e))?;
        let mut operation = self.operation();
        operation.state = Some(state);
        operation.deleted = false;
        Ok(())
    }

    /// Deletes the state (`DeleteState`): the entity no longer exists once the batch commits,
    /// until an operation sets a state again.
    pub fn delete_state(&self) {
        let mut operation = self.operation();
        operation.state = None;
        operation.deleted = true;
    }

    /// The operation's input as `T` (`GetInput<T>()`); a missing input reads as `null`.
    ///
    /// An input that is a JSON string whose text is JSON of `T` reads as that value when
    /// `T` does not read from the string itself, as Json.NET converts it in C#: Azure's
    /// Python and JavaScript clients send an input already serialized (`"5"` for `5`).
    pub fn get_input<T: DeserializeOwned>(&self) -> Result<T, EntityError> {
        let input = self.operation().input.clone().unwrap_or(Value::Null);
        T::deserialize(&input)
            .or_else(|error| match &input {
                Value::String(text) => serde_json::from_str(text).map_err(|_| error),
                _ => Err(error),
            })
            .map_err(|e| self.error("reading the operation's input", e))
    }

    /// Sets what a caller awaiting this operation receives (`Return`).
    pub fn return_value<T: Serialize>(&self, value: T) -> Result<(), EntityError> {
        let value =
            serde_json::to_value(value).map_err(|e| self.error("writing the return value", e))?;
        self.operation().result = Some(value);
        Ok(())
    }

    /// Signals `operation` on `target` once the batch commits (`SignalEntity`): one-way.
    pub fn signal_entity<T: Serialize>(
        &self,
        target: &EntityId,
        operation: &str,
        input: T,
    ) -> Result<(), EntityError> {
        self.signal(target, operation, input, None)
    }

    /// Signals `operation` on `target`, delivered at `at` (`SignalEntity` with a scheduled
    /// time).
    pub fn signal_entity_at<T: Serialize>(
        &self,
        target: &EntityId,
        at: DateTime<Utc>,
        operation: &str,
        input: T,
    ) -> Result<(), EntityError> {
        self.signal(target, operation, input, Some(at))
    }

    fn signal<T: Serialize>(
        &self,
        target: &EntityId,
        operation: &str,
        input: T,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), EntityError> {
        let input =
            serde_json::to_value(input).map_err(|e| self.error("writing a signal's input", e))?;
        self.operation().actions.push(EntityAction::Signal {
            target: target.clone(),
            operation: operation.to_owned(),
            input: Some(input),
            at,
        });
        Ok(())
    }

    /// Starts an instance of the orchestrator `name` once the batch commits
    /// (`StartNewOrchestration`); returns its instance id.
    pub fn start_new_orchestration<T: Serialize>(
        &self,
        name: &str,
        input: T,
    ) -> Result<String, EntityError> {
        let input = serde_json::to_value(input)
            .map_err(|e| self.error("writing an orchestration's input", e))?;
        let instance_id = crate::history::new_id();
        self.operation().actions.push(EntityAction::StartOrchestration {
            name: name.to_owned(),
            instance_id: instance_id.clone(),
            input,
        });
        Ok(instance_id)
    }
}
