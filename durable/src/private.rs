//! Re-exports and helpers for the output of the trigger macros. Not public API.

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::activity::{ActivityHandle, ActivityRegistration, DurableActivityContext};
pub use crate::history::FailureDetails;
pub use crate::orchestration::{
    DurableOrchestrationContext, OrchestratorHandle, OrchestratorRegistration,
};
pub use crate::registry::{BoxFuture, FunctionResult, Registration};
pub use inventory;
pub use serde;
pub use serde_json;
pub use serde_json::Value;

/// Deserializes an activity's declared input parameter.
pub fn activity_input<T: DeserializeOwned>(
    context: &DurableActivityContext,
) -> Result<T, FailureDetails> {
    context.get_input().map_err(invalid_input)
}

/// Deserializes `input` as `T`. The macros wrap it in one local fn per orchestrator and use
/// that fn for both [`orchestrator_input_with`] and [`validate_with`], so that an input type
/// that is not `DeserializeOwned` is reported once, on the user's type.
pub fn deserialize<T: DeserializeOwned>(input: &Value) -> Result<T, serde_json::Error> {
    T::deserialize(input)
}

/// Deserializes an orchestrator's declared input with `parse`.
pub fn orchestrator_input_with<T>(
    context: &DurableOrchestrationContext,
    parse: fn(&Value) -> Result<T, serde_json::Error>,
) -> Result<T, FailureDetails> {
    context.parse_input(parse).map_err(invalid_input)
}

/// Checks that a value parses with `parse` (an orchestrator's `validate_input`).
pub fn validate_with<T>(
    input: &Value,
    parse: fn(&Value) -> Result<T, serde_json::Error>,
) -> Result<(), String> {
    parse(input).map(drop).map_err(|e| e.to_string())
}

fn invalid_input(error: crate::error::InputError) -> FailureDetails {
    FailureDetails::new("InvalidInput", error.to_string())
}

/// Serializes a function's output.
pub fn output<T: Serialize>(function: &str, output: T) -> FunctionResult {
    serde_json::to_value(output).map_err(|e| {
        FailureDetails::new(
            "InvalidOutput",
            format!("the output of `{function}` could not be serialized: {e}"),
        )
    })
}

/// Turns a function's `Err` into failure details: the error's type, its message and, in
/// alternate form (`{:#}`, which `anyhow` uses for the cause chain), its causes.
pub fn error<E: Display>(error: E) -> FailureDetails {
    let message = error.to_string();
    let full = format!("{error:#}");
    let mut details = FailureDetails::new(std::any::type_name::<E>(), message.clone());
    if let Some(rest) = full
        .strip_prefix(&message)
        .and_then(|r| r.strip_prefix(": "))
    {
        details.causes = rest.split(": ").map(str::to_owned).collect();
    }
    details
}

/// Runs a synchronous activity fn on the blocking pool, re-raising its panic so that the
/// worker records it like any other.
pub async fn run_blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(join_error) => match join_error.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(cancelled) => std::panic::panic_any(cancelled.to_string()),
        },
    }
}
