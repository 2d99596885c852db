//! Orchestrations: [`DurableOrchestrationContext`], durable tasks, `when_all`/`when_any`, and
//! the replay engine that drives an orchestrator function from its history.
//!
//! An orchestrator is an ordinary `async fn` that awaits only durable tasks. The engine polls
//! it once per applied event; every action it takes (calling an activity, …) gets a sequence
//! number and is matched against the recorded history when the function is replayed, so a
//! function that no longer does what its history says fails with a nondeterminism error
//! instead of corrupting the history.

mod action;
mod context;
pub(crate) mod engine;
mod entities;
mod retry;
mod spans;
mod task;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use context::DurableOrchestrationContext;
pub use entities::{EntityCall, EntityLock, EntitySignal, OrchestrationEntity};
pub use retry::RetryOptions;
pub use task::{DurableFuture, DurableTask, when_all, when_any};

use crate::function::{BoxFuture, FunctionResult};

/// A typed reference to an orchestrator function: its name and its input and output types.
///
/// `#[orchestration_trigger]` generates one per orchestrator (the fn's name in CamelCase). Its
/// `Input` is the type of the fn's `input` parameter, or [`serde_json::Value`] when the fn
/// takes only the context.
pub trait OrchestratorHandle {
    /// The input type.
    type Input: Serialize;
    /// The output type.
    type Output: DeserializeOwned;
    /// The function name.
    const NAME: &'static str;
}

/// An orchestrator function registered with `#[orchestration_trigger]`.
#[derive(Debug)]
pub struct OrchestratorRegistration {
    /// The function name.
    pub name: &'static str,
    /// The Rust path of the annotated fn, for diagnostics.
    pub rust_path: &'static str,
    /// Starts the function; the returned future is polled by the engine.
    pub invoke: fn(DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult>,
    /// Checks that an input deserializes into the declared input type, when the fn declares
    /// one; used to reject a bad input before an instance is created.
    pub validate_input: Option<InputValidator>,
}

/// Checks that a JSON input deserializes into an orchestrator's declared input type; the
/// error is serde's message.
pub type InputValidator = fn(&serde_json::Value) -> Result<(), String>;

#[cfg(test)]
mod tests;
