//! The serialized data model: history events, orchestration messages, runtime status and
//! failure details.
//!
//! Field names follow the Durable Task Framework (`EventType`, `EventId`, `TaskScheduledId`, …)
//! because they are shown as-is by the HTTP API and stored as JSON.

mod condensed;
mod entity_id;
mod entity_messages;
mod failure;
#[cfg(test)]
pub(crate) mod fuzz_tests;
mod limits;
mod rewind;
mod trace;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use condensed::{HistoryView, azure_history};
pub use entity_id::{EntityId, EntityIdError};
pub use entity_messages::{
    EntityMessage, EntityResponse, LockRelease, LockRequest, OperationRequest,
};
pub use failure::FailureKind;
pub use limits::{Limit, LimitExceeded, Limits};
pub(crate) use rewind::{quarantined_turn, rewindable_failures};
pub use trace::TraceContext;

/// A new instance or execution id: 32 lowercase hex digits, as Azure generates them.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The runtime status of an orchestration instance (`OrchestrationRuntimeStatus` in C#).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrchestrationRuntimeStatus {
    /// Created, first turn not yet run.
    Pending,
    /// At least one turn has run and the instance has not finished.
    Running,
    /// Finished with an output.
    Completed,
    /// Restarted itself with `continue_as_new`.
    ContinuedAsNew,
    /// Finished with an unhandled error.
    Failed,
    /// Cancelled.
    Canceled,
    /// Stopped by `terminate`.
    Terminated,
    /// Suspended; events are held until it resumes.
    Suspended,
}

impl OrchestrationRuntimeStatus {
    /// All statuses, in declaration order.
    pub const ALL: [OrchestrationRuntimeStatus; 8] = [
        Self::Pending,
        Self::Running,
        Self::Completed,
        Self::ContinuedAsNew,
        Self::Failed,
        Self::Canceled,
        Self::Terminated,
        Self::Suspended,
    ];

    /// Whether the instance has finished and will run no further turns.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Canceled | Self::Terminated)
    }

    /// The status name as Azure spells it (`"Running"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Completed => "Completed",
            Self::ContinuedAsNew => "ContinuedAsNew",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::Terminated => "Terminated",
            Self::Suspended => "Suspended",
        }
    }

    /// Parses a status name, ignoring ASCII case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for OrchestrationRuntimeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

impl std::fmt::Display for FailureDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

/// The longest accepted instance id, in bytes.
pub const MAX_INSTANCE_ID_LEN: usize = 256;

/// Checks an instance id: 1 to 256 bytes, no control characters, none of `/ \ # ?` (they
/// break URLs and paths, as in Azure), not starting with `@` (reserved for entity ids), no
/// surrounding whitespace. The error says what is wrong.
pub fn check_instance_id(instance_id: &str) -> Result<(), &'static str> {
    if instance_id.is_empty() {
        Err("it is empty")
    } else if instance_id.len() > MAX_INSTANCE_ID_LEN {
        Err("it is longer than 256 bytes")
    } else if instance_id.chars().any(char::is_control) {
        Err("it contains a control character")
    } else if instance_id.contains(['/', '\\', '#', '?']) {
        Err("it contains one of `/ \\ # ?`")
    } else if instance_id.starts_with('@') {
        Err("ids starting with `@` are reserved for entities")
    } else if instance_id.trim() != instance_id {
        Err("it starts or ends with whitespace")
    } else {
        Ok(())
    }
}

/// The orchestration that started a sub-orchestration (`ParentInstance` in the Durable Task
/// Framework): where the child reports its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParentInstance {
    /// The parent's orchestrator function name.
    pub name: String,
    /// The parent's instance id.
    pub instance_id: String,
    /// The parent's execution that made the call.
    pub execution_id: String,
    /// `event_id` of the parent's `SubOrchestrationInstanceCreated` event.
    pub task_scheduled_id: i64,
}

/// One event of an orchestration's history.
///
/// `event_id` is the sequence number of the orchestrator action that produced a scheduling
/// event (`TaskScheduled`), and `-1` for every other event, as in the Durable Task Framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEvent {
    /// Sequence number of the action for scheduling events, `-1` otherwise.
    pub event_id: i64,
    /// When the event was recorded.
    pub timestamp: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl HistoryEvent {
    /// An event that is not the record of an orchestrator action (`event_id` = -1).
    pub fn new(timestamp: DateTime<Utc>, kind: EventKind) -> Self {
        HistoryEvent { event_id: -1, timestamp, kind }
    }
}

/// The kinds of history event, tagged by `EventType` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "EventType", rename_all_fields = "PascalCase")]
pub enum EventKind {
    /// The first event of every execution.
    ExecutionStarted {
        /// Orchestrator function name.
        name: String,
        /// Execution id (new for every execution of the instance).
        execution_id: String,
        /// The orchestration's input.
        #[serde(default)]
        input: Value,
        /// The orchestration version fixed at start (`context.version()`); empty if none.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        version: String,
        /// Set when the instance is a sub-orchestration.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_instance: Option<ParentInstance>,
        /// The execution's span in a distributed trace, fixed at start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace_context: Option<TraceContext>,
    },
    /// A turn of the orchestrator started; its timestamp is `current_utc_date_time` for that turn.
    OrchestratorStarted {},
    /// The orchestrator called an activity.
    TaskScheduled {
        /// Activity function name.
        name: String,
        /// The activity's input.
        #[serde(default)]
        input: Value,
    },
    /// An activity returned.
    TaskCompleted {
        /// `event_id` of the matching `TaskScheduled`.
        task_scheduled_id: i64,
        /// The activity's output.
        #[serde(default)]
        result: Value,
    },
    /// An activity failed (returned an error, panicked, or could not run).
    TaskFailed {
        /// `event_id` of the matching `TaskScheduled`.
        task_scheduled_id: i64,
        /// Why it failed.
        failure_details: FailureDetails,
    },
    /// The orchestrator started a sub-orchestration.
    SubOrchestrationInstanceCreated {
        /// The child's orchestrator function name.
        name: String,
        /// The child's instance id.
        instance_id: String,
        /// The child's input.
        #[serde(default)]
        input: Value,
    },
    /// A sub-orchestration completed.
    SubOrchestrationInstanceCompleted {
        /// `event_id` of the matching `SubOrchestrationInstanceCreated`.
        task_scheduled_id: i64,
        /// The child's output.
        #[serde(default)]
        result: Value,
    },
    /// A sub-orchestration failed (or was terminated, or could not start).
    SubOrchestrationInstanceFailed {
        /// `event_id` of the matching `SubOrchestrationInstanceCreated`.
        task_scheduled_id: i64,
        /// Why it failed.
        failure_details: FailureDetails,
    },
    /// The orchestrator created a durable timer.
    TimerCreated {
        /// When the timer fires.
        fire_at: DateTime<Utc>,
    },
    /// A durable timer fired (delivered no earlier than its `fire_at`).
    TimerFired {
        /// `event_id` of the matching `TimerCreated`.
        timer_id: i64,
        /// When the timer was due.
        fire_at: DateTime<Utc>,
    },
    /// The orchestrator sent an event to another instance: an operation, lock request or
    /// release to an entity.
    EventSent {
        /// The receiving instance.
        instance_id: String,
        /// The event's name.
        name: String,
        /// The event's data.
        #[serde(default)]
        input: Value,
        /// When the event is to be delivered; at once when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scheduled_time: Option<DateTime<Utc>>,
    },
    /// A client raised an event to the instance.
    EventRaised {
        /// The event name.
        name: String,
        /// The event's data.
        #[serde(default)]
        input: Value,
    },
    /// A client suspended the instance: later events wait until it resumes.
    ExecutionSuspended {
        /// The reason given by the client.
        #[serde(default)]
        input: Value,
    },
    /// A client resumed a suspended instance.
    ExecutionResumed {
        /// The reason given by the client.
        #[serde(default)]
        input: Value,
    },
    /// A client rewound a failed instance: its failed calls run again.
    ExecutionRewound {
        /// The reason given by the client.
        #[serde(default)]
        input: Value,
    },
    /// A client terminated the instance.
    ExecutionTerminated {
        /// The reason given by the client.
        #[serde(default)]
        input: Value,
    },
    /// The execution finished.
    ExecutionCompleted {
        /// `Completed`, `Failed`, `Terminated` or `ContinuedAsNew`.
        orchestration_status: OrchestrationRuntimeStatus,
        /// The output, the termination reason, or the next execution's input.
        #[serde(default)]
        result: Value,
        /// Set when the execution failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure_details: Option<FailureDetails>,
    },
}

impl EventKind {
    /// The `EventType` name of this event.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::ExecutionStarted { .. } => "ExecutionStarted",
            EventKind::OrchestratorStarted {} => "OrchestratorStarted",
            EventKind::TaskScheduled { .. } => "TaskScheduled",
            EventKind::TaskCompleted { .. } => "TaskCompleted",
            EventKind::TaskFailed { .. } => "TaskFailed",
            EventKind::SubOrchestrationInstanceCreated { .. } => "SubOrchestrationInstanceCreated",
            EventKind::SubOrchestrationInstanceCompleted { .. } => {
                "SubOrchestrationInstanceCompleted"
            }
            EventKind::SubOrchestrationInstanceFailed { .. } => "SubOrchestrationInstanceFailed",
            EventKind::ExecutionSuspended { .. } => "ExecutionSuspended",
            EventKind::ExecutionResumed { .. } => "ExecutionResumed",
            EventKind::ExecutionRewound { .. } => "ExecutionRewound",
            EventKind::TimerCreated { .. } => "TimerCreated",
            EventKind::TimerFired { .. } => "TimerFired",
            EventKind::EventSent { .. } => "EventSent",
            EventKind::EventRaised { .. } => "EventRaised",
            EventKind::ExecutionTerminated { .. } => "ExecutionTerminated",
            EventKind::ExecutionCompleted { .. } => "ExecutionCompleted",
        }
    }
}

/// A message delivered to an orchestration instance's inbox: an event that the orchestrator
/// will see in its next turn (`TaskMessage` in the Durable Task Framework).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrchestrationMessage {
    /// The target instance.
    pub instance_id: String,
    /// The target execution; `None` means whichever execution is current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// The event to deliver.
    pub event: HistoryEvent,
    /// When the message may be delivered (a durable timer); at once when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_dtf_field_names() {
        let event = HistoryEvent {
            event_id: 3,
            timestamp: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            kind: EventKind::TaskScheduled {
                name: "E1_SayHello".into(),
                input: Value::from("Tokyo"),
            },
        };
        let json = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "EventId": 3,
                "Timestamp": "2026-01-02T03:04:05Z",
                "EventType": "TaskScheduled",
                "Name": "E1_SayHello",
                "Input": "Tokyo"
            })
        );
        let back: HistoryEvent = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, event);
    }

    #[test]
    fn status_parses_any_case() {
        assert_eq!(
            OrchestrationRuntimeStatus::parse("running"),
            Some(OrchestrationRuntimeStatus::Running)
        );
        assert_eq!(OrchestrationRuntimeStatus::parse("nope"), None);
    }
}
