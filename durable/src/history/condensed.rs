//! The history of an instance as Azure's status API shows it (`showHistory=true`): turn
//! markers dropped, each answered call folded into its answer (which then names the function
//! and the time it was scheduled), inputs and results shown on request.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{EventKind, HistoryEvent};

/// What the caller asked to see.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryView {
    /// Keep `Input` fields (`showInput`).
    pub(crate) show_input: bool,
    /// Keep `Result` fields (`showHistoryOutput`).
    pub(crate) show_output: bool,
}

/// The events in Azure's shape; linear in the number of events.
pub(crate) fn azure_history(events: &[HistoryEvent], view: HistoryView) -> Vec<Value> {
    // The scheduling events, by event id, and which of them were answered.
    let mut scheduled: HashMap<i64, &HistoryEvent> = HashMap::new();
    let mut answered = HashSet::new();
    for event in events {
        match &event.kind {
            EventKind::TaskScheduled { .. } | EventKind::SubOrchestrationInstanceCreated { .. } => {
                scheduled.insert(event.event_id, event);
            }
            kind => answered.extend(answered_call(kind)),
        }
    }
    events
        .iter()
        .filter(|event| match &event.kind {
            EventKind::OrchestratorStarted {} => false,
            EventKind::TaskScheduled { .. } | EventKind::SubOrchestrationInstanceCreated { .. } => {
                !answered.contains(&event.event_id)
            }
            _ => true,
        })
        .map(|event| shape(event, &scheduled, view))
        .collect()
}

fn shape(
    event: &HistoryEvent,
    scheduled: &HashMap<i64, &HistoryEvent>,
    view: HistoryView,
) -> Value {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(event) else {
        return Value::Null;
    };
    fields.remove("EventId");
    match &event.kind {
        EventKind::ExecutionStarted { .. } => {
            rename(&mut fields, "Name", "FunctionName");
            for internal in ["ExecutionId", "Version", "ParentInstance"] {
                fields.remove(internal);
            }
        }
        kind if answered_call(kind).is_some() => {
            fields.remove("TaskScheduledId");
            if let Some(call) = answered_call(kind).and_then(|id| scheduled.get(&id)) {
                add_call(&mut fields, call);
            }
        }
        EventKind::TimerFired { .. } => {
            fields.remove("TimerId");
        }
        _ => {}
    }
    if !view.show_input {
        fields.remove("Input");
    }
    if !view.show_output {
        fields.remove("Result");
    }
    Value::Object(fields)
}

/// The event id of the call an answer (a completion or failure) answers.
fn answered_call(kind: &EventKind) -> Option<i64> {
    match kind {
        EventKind::TaskCompleted { task_scheduled_id, .. }
        | EventKind::TaskFailed { task_scheduled_id, .. }
        | EventKind::SubOrchestrationInstanceCompleted { task_scheduled_id, .. }
        | EventKind::SubOrchestrationInstanceFailed { task_scheduled_id, .. } => {
            Some(*task_scheduled_id)
        }
        _ => None,
    }
}

/// Adds what the answered call was: the function, its input and when it was scheduled.
fn add_call(fields: &mut Map<String, Value>, call: &HistoryEvent) {
    let (name, input, instance_id) = match &call.kind {
        EventKind::TaskScheduled { name, input } => (name, input, None),
        EventKind::SubOrchestrationInstanceCreated { name, input, instance_id } => {
            (name, input, Some(instance_id))
        }
        _ => return,
    };
    fields.insert("FunctionName".to_owned(), Value::String(name.clone()));
    fields.insert(
        "ScheduledTime".to_owned(),
        serde_json::to_value(call.timestamp).unwrap_or(Value::Null),
    );
    fields.insert("Input".to_owned(), input.clone());
    if let Some(instance_id) = instance_id {
        fields.insert("InstanceId".to_owned(), Value::String(instance_id.clone()));
    }
}

fn rename(fields: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(value) = fields.remove(from) {
        fields.insert(to.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::history::OrchestrationRuntimeStatus;

    #[test]
    fn answered_calls_fold_into_their_answers() {
        let now = Utc::now();
        let mut scheduled = HistoryEvent::new(
            now,
            EventKind::TaskScheduled { name: "E1_SayHello".into(), input: "Tokyo".into() },
        );
        scheduled.event_id = 0;
        let events = vec![
            HistoryEvent::new(
                now,
                EventKind::ExecutionStarted {
                    name: "E1_HelloSequence".into(),
                    execution_id: "x".into(),
                    input: Value::Null,
                    version: String::new(),
                    parent_instance: None,
                    trace_context: None,
                },
            ),
            HistoryEvent::new(now, EventKind::OrchestratorStarted {}),
            scheduled,
            HistoryEvent::new(
                now,
                EventKind::TaskCompleted { task_scheduled_id: 0, result: "Hello Tokyo!".into() },
            ),
            HistoryEvent::new(
                now,
                EventKind::ExecutionCompleted {
                    orchestration_status: OrchestrationRuntimeStatus::Completed,
                    result: Value::Null,
                    failure_details: None,
                },
            ),
        ];
        let quiet = azure_history(&events, HistoryView { show_input: true, show_output: false });
        let types: Vec<&str> = quiet.iter().filter_map(|e| e["EventType"].as_str()).collect();
        assert_eq!(types, ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]);
        assert_eq!(quiet[0]["FunctionName"], "E1_HelloSequence");
        assert_eq!(quiet[1]["FunctionName"], "E1_SayHello");
        assert_eq!(quiet[1]["Input"], "Tokyo");
        assert!(quiet[1].get("Result").is_none() && quiet[1].get("ScheduledTime").is_some());
        let full = azure_history(&events, HistoryView { show_input: false, show_output: true });
        assert_eq!(full[1]["Result"], "Hello Tokyo!");
        assert!(full[1].get("Input").is_none());
    }
}
