//! [`FailureKind`]: the kinds of failure the runtime itself reports, and a function's own.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// Declares the runtime's own kinds once: the enum, its names, and the reverse lookup, so a
/// new kind cannot serialize under a name that reads back as something else.
macro_rules! failure_kinds {
    ($($(#[$doc:meta])* $kind:ident,)*) => {
        /// The kind of a failure, stored and shown as the `ErrorType` string.
        ///
        /// The runtime's own kinds are variants, so the engine, retries, the worker and the
        /// HTTP host match on them; a function's own error is [`FailureKind::Error`], named by
        /// the error's Rust type (`my_app::DiskError`; `Error` for a plain message). On the
        /// wire every kind is its name, exactly as before this type existed. Kinds compare by
        /// name, so `FailureKind::Error("Timeout".into())` equals [`FailureKind::Timeout`], as
        /// it would once stored and read back.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        #[non_exhaustive]
        pub enum FailureKind {
            $($(#[$doc])* $kind,)*
            /// A function returned an error of its own, named by its type.
            Error(String),
        }

        impl FailureKind {
            /// The `ErrorType` name.
            pub fn as_str(&self) -> &str {
                match self {
                    $(FailureKind::$kind => stringify!($kind),)*
                    FailureKind::Error(name) => name,
                }
            }

            /// The runtime's kind with this name, if it is one.
            fn built_in(name: &str) -> Option<FailureKind> {
                match name {
                    $(stringify!($kind) => Some(FailureKind::$kind),)*
                    _ => None,
                }
            }

            #[cfg(test)]
            const BUILT_IN: &[FailureKind] = &[$(FailureKind::$kind,)*];
        }
    };
}

failure_kinds! {
    /// A function's input did not deserialize into its declared type; retrying cannot help.
    InvalidInput,
    /// A value could not be serialized: a function's output, a custom status, the input of
    /// `continue_as_new`.
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
    /// An orchestration broke a rule of critical sections (called an entity it had not
    /// locked, nested a lock, started a sub-orchestration inside one).
    LockingRulesViolation,
    /// An orchestrator returned the [`FunctionFailed`](crate::FunctionFailed) of a call it
    /// awaited.
    FunctionFailed,
    /// A value was over a configured size limit, or an execution over its history limit
    /// (see [`Limits`](crate::history::Limits)); the message names the limit.
    PayloadTooLarge,
    /// A work item was set aside instead of run again: its processing crashed the process
    /// or was abandoned more often than the configured limit (`maxWorkItemAttempts`); the
    /// message names the attempts. Rewinding the failed instance runs it again.
    Quarantined,
}

impl PartialEq for FailureKind {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for FailureKind {}

impl Hash for FailureKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<String> for FailureKind {
    fn from(name: String) -> Self {
        FailureKind::built_in(&name).unwrap_or(FailureKind::Error(name))
    }
}

impl From<&str> for FailureKind {
    fn from(name: &str) -> Self {
        FailureKind::built_in(name).unwrap_or_else(|| FailureKind::Error(name.to_owned()))
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
    use crate::history::FailureDetails;

    #[test]
    fn kinds_keep_their_wire_names() {
        for kind in FailureKind::BUILT_IN {
            let json = serde_json::to_value(kind).unwrap_or_default();
            assert_eq!(json, serde_json::Value::from(kind.as_str()));
            let back = serde_json::from_value::<FailureKind>(json).ok();
            assert!(
                matches!(back, Some(ref k) if std::mem::discriminant(k) == std::mem::discriminant(kind)),
                "{kind}"
            );
        }
        let details = FailureDetails::new(FailureKind::Error("my_app::DiskError".into()), "full");
        assert_eq!(
            serde_json::to_value(&details).unwrap_or_default(),
            serde_json::json!({ "ErrorType": "my_app::DiskError", "ErrorMessage": "full" })
        );
        assert!(matches!(FailureKind::from("Panic"), FailureKind::Panic));
        assert!(matches!(FailureKind::from("Error"), FailureKind::Error(ref n) if n == "Error"));
        // Equal in memory exactly when equal once stored.
        assert_eq!(FailureKind::Error("Timeout".into()), FailureKind::Timeout);
        assert_ne!(FailureKind::Error("my_app::Timeout".into()), FailureKind::Timeout);
    }
}
