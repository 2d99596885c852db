//! Durable entities, the fourth function type: [`EntityId`]s, the [`DurableEntityContext`]
//! an entity function works with, and [`run_turn`], which takes the messages an entity
//! received against its record. Like the other engines, nothing here does I/O: the worker fetches the
//! requests, runs the batch and commits what it produced.

mod batch;
mod context;
mod record;
mod turn;

pub use crate::history::{
    EntityId, EntityIdError, EntityMessage, EntityResponse, LockRelease, LockRequest,
    OperationRequest,
};
pub use batch::{EntityFunction, OperationOutcome};
pub use context::{DurableEntityContext, EntityAction, EntityError};
pub use record::{EntityRecord, QueuedMessage};
pub use turn::{EntityTurn, Outgoing, TurnOptions, run_turn};

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
