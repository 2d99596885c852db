//! [`Limits`]: how large a payload, and how long an execution's history, may grow; checked at
//! every edge where one is written, so no limit is left to the store to enforce.

use std::fmt;

use serde::Serialize;

use super::{FailureDetails, FailureKind};

/// What is limited, with the `host.json` key (under `extensions.durableTask`) that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// An input: of an orchestration, an activity, a sub-orchestration, an entity operation
    /// (`maxInputSize`).
    Input,
    /// An output: of an orchestration, an activity, an entity operation; an entity's state
    /// (`maxOutputSize`).
    Output,
    /// An event's payload: a raised event, a signal, a client's reason (`maxEventSize`).
    Event,
    /// An orchestration's custom status (`maxCustomStatusSize`).
    CustomStatus,
    /// The history events of one execution (`maxOrchestrationActions`).
    OrchestrationActions,
}

impl Limit {
    /// The `host.json` key that sets this limit.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Input => "maxInputSize",
            Limit::Output => "maxOutputSize",
            Limit::Event => "maxEventSize",
            Limit::CustomStatus => "maxCustomStatusSize",
            Limit::OrchestrationActions => "maxOrchestrationActions",
        }
    }
}

/// The configured limits (`host.json`, `extensions.durableTask`).
///
/// Sizes are in bytes of the value's compact JSON. The defaults: inputs, outputs and event
/// payloads 4 MiB each (Azure moves large payloads to blobs, so it has no practical limit;
/// 4 MiB keeps a store row and a turn's memory reasonable), a custom status 16 KiB (Azure's
/// limit) and 100,000 history events per execution (Azure's `maxOrchestrationActions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest input, in bytes (`maxInputSize`).
    pub max_input_size: u64,
    /// The largest output, in bytes (`maxOutputSize`).
    pub max_output_size: u64,
    /// The largest event payload, in bytes (`maxEventSize`).
    pub max_event_size: u64,
    /// The largest custom status, in bytes (`maxCustomStatusSize`).
    pub max_custom_status_size: u64,
    /// The most history events one execution may record (`maxOrchestrationActions`).
    pub max_orchestration_actions: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

impl Limits {
    /// The defaults (see [`Limits`]).
    pub const DEFAULT: Limits = {
        const MIB: u64 = 1024 * 1024;
        Limits {
            max_input_size: 4 * MIB,
            max_output_size: 4 * MIB,
            max_event_size: 4 * MIB,
            max_custom_status_size: 16 * 1024,
            max_orchestration_actions: 100_000,
        }
    };

    /// The maximum `limit` allows.
    pub fn max(&self, limit: Limit) -> u64 {
        match limit {
            Limit::Input => self.max_input_size,
            Limit::Output => self.max_output_size,
            Limit::Event => self.max_event_size,
            Limit::CustomStatus => self.max_custom_status_size,
            Limit::OrchestrationActions => self.max_orchestration_actions,
        }
    }

    /// Checks `value`'s JSON size against the size `limit`; `what` names the value in the
    /// error ("the input of `start_new(\"Hello\")`").
    pub fn check(
        &self,
        limit: Limit,
        what: impl fmt::Display,
        value: &impl Serialize,
    ) -> Result<(), LimitExceeded> {
        self.check_count(limit, what, json_size(value))
    }

    /// Checks a count (`size` bytes, or history events for
    /// [`Limit::OrchestrationActions`]) against `limit`.
    pub fn check_count(
        &self,
        limit: Limit,
        what: impl fmt::Display,
        size: u64,
    ) -> Result<(), LimitExceeded> {
        let max = self.max(limit);
        if size <= max {
            return Ok(());
        }
        Err(LimitExceeded { limit, what: what.to_string(), size, max })
    }
}

/// A value over its limit: what it is, how large, and the limit with its `host.json` key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct LimitExceeded {
    /// The limit exceeded.
    pub limit: Limit,
    /// What was over it.
    pub what: String,
    /// Its size in bytes (history events for [`Limit::OrchestrationActions`]).
    pub size: u64,
    /// The limit's value.
    pub max: u64,
}

impl LimitExceeded {
    fn message(&self) -> String {
        let LimitExceeded { limit, what, size, max } = self;
        let key = limit.key();
        match limit {
            Limit::OrchestrationActions => format!(
                "{what} would record {size} history events, over the limit of {max} \
                 (`{key}` in host.json)"
            ),
            _ => format!(
                "{what} is {size} bytes, over the limit of {max} bytes (`{key}` in host.json)"
            ),
        }
    }

    /// The failure a task or an execution records for it: [`FailureKind::PayloadTooLarge`].
    pub fn failure(&self) -> FailureDetails {
        FailureDetails::new(FailureKind::PayloadTooLarge, self.message())
    }
}

/// The length of `value`'s compact JSON, counted without building it; a value that does not
/// serialize counts as 0 (its serialization fails elsewhere, with its own error).
fn json_size(value: &impl Serialize) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_are_compact_json_bytes() {
        assert_eq!(json_size(&json!({"a": [1, 2]})), r#"{"a":[1,2]}"#.len() as u64);
        assert_eq!(json_size(&"héllo"), "\"héllo\"".len() as u64);
    }

    #[test]
    fn over_the_limit_names_what_the_size_and_the_key() {
        let limits = Limits { max_input_size: 10, ..Limits::default() };
        assert!(limits.check(Limit::Input, "x", &"12345678").is_ok());
        let error = limits.check(Limit::Input, "the input of `F`", &"123456789");
        let Err(error) = error else { panic!("accepted") };
        assert_eq!(error.size, 11);
        assert_eq!(
            error.to_string(),
            "the input of `F` is 11 bytes, over the limit of 10 bytes (`maxInputSize` in host.json)"
        );
        assert_eq!(error.failure().error_type, FailureKind::PayloadTooLarge);
        let actions = Limits::default().check_count(Limit::OrchestrationActions, "it", 100_001);
        assert!(actions.is_err_and(|e| e.to_string().contains("`maxOrchestrationActions`")));
    }
}
