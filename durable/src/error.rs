//! Error types shared across layers.

use crate::history::{EntityIdError, FailureDetails, FailureKind};

/// A function's input could not be deserialized into the requested type.
#[derive(Debug, thiserror::Error)]
#[error("invalid input for `{function}`: {source}")]
pub struct InputError {
    function: String,
    #[source]
    source: serde_json::Error,
}

impl InputError {
    pub(crate) fn new(function: &str, source: serde_json::Error) -> Self {
        InputError { function: function.to_owned(), source }
    }

    /// The name of the function whose input was invalid.
    pub fn function(&self) -> &str {
        &self.function
    }
}

/// A called function (activity) failed; what `await`ing the call yields on failure
/// (`FunctionFailedException` in C#).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("function `{function}` failed: {details}")]
pub struct FunctionFailed {
    /// The name of the function that failed.
    pub function: String,
    /// Why it failed.
    pub details: FailureDetails,
}

impl From<InputError> for FunctionFailed {
    /// An orchestrator whose own input is invalid fails like a function would.
    fn from(error: InputError) -> Self {
        FunctionFailed {
            details: FailureDetails::new(FailureKind::InvalidInput, error.to_string()),
            function: error.function,
        }
    }
}

impl From<EntityIdError> for FunctionFailed {
    /// An orchestrator that builds a malformed entity id fails with an `InvalidInput` failure
    /// saying why.
    fn from(error: EntityIdError) -> Self {
        FunctionFailed {
            details: FailureDetails::new(FailureKind::InvalidInput, error.to_string()),
            function: "EntityId".to_owned(),
        }
    }
}
