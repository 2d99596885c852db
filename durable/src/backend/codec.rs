//! Conversions every store shares: JSON payloads, stored names, and the errors for data a
//! store cannot read back.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BackendError, QueueKind, Result};
use crate::history::OrchestrationRuntimeStatus;

/// Serializes a value to JSON text.
pub(super) fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| BackendError::Store {
        message: format!("cannot serialize {what}: {e}"),
        retryable: false,
    })
}

/// Deserializes stored JSON text.
pub(super) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e.to_string()))
}

/// A [`BackendError::Corrupt`].
pub(super) fn corrupt(what: &str, message: impl Into<String>) -> BackendError {
    BackendError::Corrupt { what: what.to_owned(), message: message.into() }
}

/// Parses a stored runtime status.
pub(super) fn parse_status(text: &str, what: &str) -> Result<OrchestrationRuntimeStatus> {
    OrchestrationRuntimeStatus::parse(text)
        .ok_or_else(|| corrupt(what, format!("unknown runtime status `{text}`")))
}

/// Parses a stored queue kind.
pub(super) fn parse_kind(text: &str, what: &str) -> Result<QueueKind> {
    match text {
        "activity" => Ok(QueueKind::Activity),
        "orchestrator" => Ok(QueueKind::Orchestrator),
        "entity" => Ok(QueueKind::Entity),
        other => Err(corrupt(what, format!("unknown queue kind `{other}`"))),
    }
}
