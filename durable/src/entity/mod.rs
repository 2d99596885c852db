//! Durable entities, the fourth function type: [`EntityId`]s, the [`DurableEntityContext`]
//! an entity function works with, and [`run_batch`], which runs a batch of operations against
//! an entity's state. Like the other engines, nothing here does I/O: the worker fetches the
//! requests, runs the batch and commits what it produced.

mod batch;
mod context;
mod id;
mod record;

pub use batch::{BatchOutcome, EntityFunction, OperationOutcome, OperationRequest, run_batch};
pub use context::{DurableEntityContext, EntityAction, EntityError};
pub use id::{EntityId, EntityIdError};
pub use record::{
    EntityRecord, OPERATION_EVENT, QueuedOperation, operation_event, operation_message,
    operation_of,
};

/// An entity function registered with `#[entity_trigger]`.
#[derive(Debug)]
pub struct EntityRegistration {
    /// The function name; the entity name is this, lower-cased.
    pub name: &'static str,
    /// The Rust path of the annotated fn, for diagnostics.
    pub rust_path: &'static str,
    /// Runs one operation.
    pub invoke: EntityFunction,
}
