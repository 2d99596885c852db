//! [`FailureDetails`] and the [`FailureKind`]s the runtime itself reports.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a function failed: what the orchestrator sees in `FunctionFailed` and what a failed
/// instance reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailureDetails {
    /// The kind of failure: one the runtime reports (`Panic`, `InvalidInput`,
    /// `NonDeterminism`, …) or the type of the error a function returned.
    pub error_type: FailureKind,
    /// The error's message.
    pub error_message: String,
    /// The error's causes, outermost first, when the error had any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
}

impl FailureDetails {
    /// Failure details of the given kind (a [`FailureKind`], or a name: `"my_app::DiskError"`)
    /// with a message and no causes.
    ///
    /// ```
    /// use durable::{FailureDetails, FailureKind};
    ///
    /// let details = FailureDetails::new(FailureKind::Timeout, "no answer within 1h");
    /// assert_eq!(details.to_string(), "Timeout: no answer within 1h");
    /// ```
    pub fn new(error_type: impl Into<FailureKind>, error_message: impl Into<String>) -> Self {
        FailureDetails {
            error_type: error_type.into(),
            error_message: error_message.into(),
            causes: Vec::new(),
        }
    }
}

impl fmt::Display for FailureDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

/// The kind of a failure, stored and shown as the `ErrorType` string.
///
/// The runtime's own kinds are variants, so the engine, retries, the worker and the HTTP host
/// match on them; a function's own error is [`FailureKind::Error`], named by the error's Rust
/// type (`my_app::DiskError`; `Error` for a plain message). On the wire every kind is its name,
/// exactly as before this type existed, and a name that is one of the runtime's kinds reads
/// back as that kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum FailureKind {
    /// A function's input did not deserialize into its declared type; retrying cannot help.
    InvalidInput,
    /// A function's output could not be serialized.
    InvalidOutput,
    /// A result did not deserialize into the type the orchestrator awaited.
    OutputTypeMismatch,
    /// The function panicked.
    Panic,
    /// A replayed orchestrator did something other than what its history records.
    NonDeterminism,
    /// No function with the called name is registered in the app that ran the call.
    FunctionNotFound,
    /// A wait ran out of time (`wait_for_external_event` with a timeout).
    Timeout,
    /// A sub-orchestration was terminated.
    Terminated,
    /// A sub-orchestration could not start: an unfinished instance holds its id.
    InstanceExists,
    /// The store refused what a turn produced (a value it cannot hold).
    StoreRejected,
    /// An orchestrator returned the [`FunctionFailed`](crate::FunctionFailed) of a call it
    /// awaited.
    FunctionFailed,
    /// A function returned an error of its own, named by its type.
    Error(String),
}

impl FailureKind {
    const BUILT_IN: [FailureKind; 11] = [
        FailureKind::InvalidInput,
        FailureKind::InvalidOutput,
        FailureKind::OutputTypeMismatch,
        FailureKind::Panic,
        FailureKind::NonDeterminism,
        FailureKind::FunctionNotFound,
        FailureKind::Timeout,
        FailureKind::Terminated,
        FailureKind::InstanceExists,
        FailureKind::StoreRejected,
        FailureKind::FunctionFailed,
    ];

    /// The `ErrorType` name.
    pub fn as_str(&self) -> &str {
        match self {
            FailureKind::InvalidInput => "InvalidInput",
            FailureKind::InvalidOutput => "InvalidOutput",
            FailureKind::OutputTypeMismatch => "OutputTypeMismatch",
            FailureKind::Panic => "Panic",
            FailureKind::NonDeterminism => "NonDeterminism",
            FailureKind::FunctionNotFound => "FunctionNotFound",
            FailureKind::Timeout => "Timeout",
            FailureKind::Terminated => "Terminated",
            FailureKind::InstanceExists => "InstanceExists",
            FailureKind::StoreRejected => "StoreRejected",
            FailureKind::FunctionFailed => "FunctionFailed",
            FailureKind::Error(name) => name,
        }
    }
}

impl From<String> for FailureKind {
    fn from(name: String) -> Self {
        FailureKind::BUILT_IN
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .unwrap_or(FailureKind::Error(name))
    }
}

impl From<&str> for FailureKind {
    fn from(name: &str) -> Self {
        FailureKind::from(name.to_owned())
    }
}

impl From<FailureKind> for String {
    fn from(kind: FailureKind) -> Self {
        match kind {
            FailureKind::Error(name) => name,
            built_in => built_in.as_str().to_owned(),
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the `ErrorType` name, so `details.error_type == "NonDeterminism"` reads as
/// it did when the field was a string.
impl PartialEq<str> for FailureKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FailureKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_wire_names() {
        for kind in FailureKind::BUILT_IN {
            let json = serde_json::to_value(&kind).unwrap_or_default();
            assert_eq!(json, serde_json::Value::from(kind.as_str()));
            assert_eq!(serde_json::from_value::<FailureKind>(json).ok(), Some(kind));
        }
        let details = FailureDetails::new(FailureKind::Error("my_app::DiskError".into()), "full");
        assert_eq!(
            serde_json::to_value(&details).unwrap_or_default(),
            serde_json::json!({ "ErrorType": "my_app::DiskError", "ErrorMessage": "full" })
        );
        assert_eq!(FailureKind::from("Panic"), FailureKind::Panic);
        assert_eq!(FailureKind::from("Error"), FailureKind::Error("Error".into()));
    }
}
