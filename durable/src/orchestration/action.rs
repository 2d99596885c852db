//! The actions an orchestrator takes, and how each is recorded in and matched against history.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::history::{EventKind, HistoryEvent};

/// An action the orchestrator took that has not yet been matched against history or
/// committed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    CallActivity {
        event_id: i64,
        name: Arc<str>,
        input: Value,
    },
    CreateTimer {
        event_id: i64,
        fire_at: DateTime<Utc>,
    },
    CallSubOrchestrator {
        event_id: i64,
        name: Arc<str>,
        instance_id: String,
        input: Value,
    },
    /// An event to another instance: an entity operation, lock request or release.
    SendEvent {
        event_id: i64,
        event: SentEvent,
    },
}

/// An event an orchestration sends to another instance, delivered at `at` or at once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SentEvent {
    pub(crate) instance_id: String,
    pub(crate) name: String,
    pub(crate) input: Value,
    pub(crate) at: Option<DateTime<Utc>>,
}

impl Action {
    pub(crate) fn event_id(&self) -> i64 {
        match self {
            Action::CallActivity { event_id, .. }
            | Action::CreateTimer { event_id, .. }
            | Action::CallSubOrchestrator { event_id, .. }
            | Action::SendEvent { event_id, .. } => *event_id,
        }
    }

    /// The history event that records this action, taken at `now`.
    pub(crate) fn record(&self, now: DateTime<Utc>) -> HistoryEvent {
        let kind = match self {
            Action::CallActivity { name, input, .. } => {
                EventKind::TaskScheduled { name: name.to_string(), input: input.clone() }
            }
            Action::CreateTimer { fire_at, .. } => EventKind::TimerCreated { fire_at: *fire_at },
            Action::CallSubOrchestrator { name, instance_id, input, .. } => {
                EventKind::SubOrchestrationInstanceCreated {
                    name: name.to_string(),
                    instance_id: instance_id.clone(),
                    input: input.clone(),
                }
            }
            Action::SendEvent { event, .. } => EventKind::EventSent {
                instance_id: event.instance_id.clone(),
                name: event.name.clone(),
                input: event.input.clone(),
                scheduled_time: event.at,
            },
        };
        HistoryEvent { event_id: self.event_id(), timestamp: now, kind }
    }

    /// Whether a recorded scheduling event is the record of this action.
    pub(crate) fn is_recorded_by(&self, event: &HistoryEvent) -> bool {
        event.event_id == self.event_id()
            && match (self, &event.kind) {
                (
                    Action::CallActivity { name, .. },
                    EventKind::TaskScheduled { name: recorded, .. },
                ) => **name == **recorded,
                (Action::CreateTimer { .. }, EventKind::TimerCreated { .. }) => true,
                (
                    Action::CallSubOrchestrator { name, .. },
                    EventKind::SubOrchestrationInstanceCreated { name: recorded, .. },
                ) => **name == **recorded,
                (
                    Action::SendEvent { event, .. },
                    EventKind::EventSent { instance_id, name, .. },
                ) => event.instance_id == *instance_id && event.name == *name,
                _ => false,
            }
    }

    /// How a recorded scheduling event reads in a nondeterminism error.
    pub(crate) fn describe_recorded(event: &HistoryEvent) -> String {
        let id = event.event_id;
        match &event.kind {
            EventKind::TaskScheduled { name, .. } => {
                format!("call_activity(\"{name}\") as action #{id}")
            }
            EventKind::TimerCreated { .. } => format!("create_timer as action #{id}"),
            EventKind::SubOrchestrationInstanceCreated { name, .. } => {
                format!("call_sub_orchestrator(\"{name}\") as action #{id}")
            }
            EventKind::EventSent { instance_id, name, .. } => {
                format!("sending `{name}` to `{instance_id}` as action #{id}")
            }
            other => format!("{} as action #{id}", other.type_name()),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::CallActivity { event_id, name, .. } => {
                write!(f, "call_activity(\"{name}\") as action #{event_id}")
            }
            Action::CreateTimer { event_id, .. } => write!(f, "create_timer as action #{event_id}"),
            Action::CallSubOrchestrator { event_id, name, .. } => {
                write!(f, "call_sub_orchestrator(\"{name}\") as action #{event_id}")
            }
            Action::SendEvent { event_id, event } => {
                write!(
                    f,
                    "sending `{}` to `{}` as action #{event_id}",
                    event.name, event.instance_id
                )
            }
        }
    }
}
