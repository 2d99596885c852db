//! Rewind: a failed instance's history rewritten without the failures that ended it.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use super::Shared;
use super::orchestrations::{Failing, abandon, commit, start_child, unchanged};
use crate::backend::{ActivityRequest, InstanceRecord, OrchestrationCommit, WorkItemLock};
use crate::history::{
    EventKind, FailureKind, HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus,
    ParentInstance, quarantined_turn, rewindable_failures,
};

/// Rewinds a failed instance (`RewindAsync` in C#): its history is rewritten without the
/// failures that ended it (see [`rewindable_failures`]), so that those calls are pending
/// again. The execution stays the same. What is pending then runs (again): every activity
/// call without an outcome is queued under its original sequence number (its result may have
/// been dropped while the instance was failed), every timer that has not fired is set again,
/// a failed sub-orchestration is rewound, and one that never started or was terminated is
/// started again. The orchestrator, replayed, goes on from there.
pub(super) async fn rewind(
    shared: Arc<Shared>,
    instance: InstanceRecord,
    lock: WorkItemLock,
    rewound: HistoryEvent,
    completed_activity: Option<WorkItemLock>,
) -> bool {
    let instance_id = instance.instance_id.clone();
    let execution_id = instance.execution_id.clone();
    shared.cache.remove(&instance_id);
    let history = match shared.backend.get_history(&instance_id, &execution_id).await {
        Ok(history) => history,
        Err(error) => {
            tracing::error!(%instance_id, %error, "loading history to rewind failed");
            abandon(&shared, &lock).await;
            return false;
        }
    };
    if let Some(turn) = quarantined_turn(&history) {
        return retry_quarantined(
            &shared,
            &instance,
            &lock,
            history,
            turn,
            rewound,
            completed_activity,
        )
        .await;
    }
    let undone = rewindable_failures(&history);
    if undone.is_empty() {
        // The client checked this; the history changed since. Nothing to run again.
        tracing::warn!(%instance_id, "rewind ignored: no failed call to run again");
        let consume = OrchestrationCommit { completed_activity, ..unchanged(&instance) };
        return commit(&shared, &instance, &lock, consume, None, &Failing::current(&instance))
            .await;
    }
    let reason = match &rewound.kind {
        EventKind::ExecutionRewound { input } => input.clone(),
        _ => Value::Null,
    };
    let now = shared.clock.now();
    let mut failed_children = Vec::new();
    let mut new_events = Vec::with_capacity(history.len() + 2);
    for (i, event) in history.into_iter().enumerate() {
        match &event.kind {
            EventKind::SubOrchestrationInstanceFailed { task_scheduled_id, failure_details }
                if undone.contains(&i) =>
            {
                failed_children.push((*task_scheduled_id, failure_details.error_type.clone()));
            }
            EventKind::TaskFailed { .. } if undone.contains(&i) => {}
            EventKind::ExecutionCompleted { .. } => {}
            _ => new_events.push(event),
        }
    }
    let answered: HashSet<i64> = new_events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::TaskCompleted { task_scheduled_id, .. }
            | EventKind::TaskFailed { task_scheduled_id, .. } => Some(task_scheduled_id),
            EventKind::TimerFired { timer_id, .. } => Some(timer_id),
            _ => None,
        })
        .collect();
    let mut activities = Vec::new();
    let mut messages = Vec::new();
    for event in &new_events {
        if answered.contains(&event.event_id) {
            continue;
        }
        match &event.kind {
            EventKind::TaskScheduled { name, input } => activities.push(ActivityRequest {
                instance_id: instance_id.clone(),
                execution_id: execution_id.clone(),
                task_scheduled_id: event.event_id,
                name: name.clone(),
                input: input.clone(),
            }),
            EventKind::TimerCreated { fire_at } => messages.push(OrchestrationMessage {
                visible_at: Some(*fire_at),
                instance_id: instance_id.clone(),
                execution_id: Some(execution_id.clone()),
                event: HistoryEvent::new(
                    *fire_at,
                    EventKind::TimerFired { timer_id: event.event_id, fire_at: *fire_at },
                ),
            }),
            _ => {}
        }
    }
    let mut sub_orchestrations = Vec::new();
    let trace = new_events.iter().find_map(|e| match &e.kind {
        EventKind::ExecutionStarted { trace_context, .. } => trace_context.clone(),
        _ => None,
    });
    for (task_scheduled_id, error_type) in failed_children {
        let created = new_events.iter().find_map(|e| match &e.kind {
            EventKind::SubOrchestrationInstanceCreated { name, instance_id, input }
                if e.event_id == task_scheduled_id =>
            {
                Some((name, instance_id, input))
            }
            _ => None,
        });
        let Some((name, child_id, input)) = created else {
            continue;
        };
        if matches!(
            error_type,
            FailureKind::InstanceExists | FailureKind::Terminated | FailureKind::FunctionNotFound
        ) {
            // The child never started, or was stopped: start it again. (Only a failed child
            // can be rewound.)
            let parent = ParentInstance {
                name: instance.name.clone(),
                instance_id: instance_id.clone(),
                execution_id: execution_id.clone(),
                task_scheduled_id,
            };
            let call = (name.as_str(), child_id.clone(), input.clone(), trace.as_ref());
            start_child(&shared, parent, call, now, &mut sub_orchestrations, &mut messages);
        } else {
            messages.push(OrchestrationMessage {
                visible_at: None,
                instance_id: child_id.clone(),
                execution_id: None,
                event: HistoryEvent::new(
                    now,
                    EventKind::ExecutionRewound { input: reason.clone() },
                ),
            });
        }
    }
    new_events.push(HistoryEvent::new(now, EventKind::OrchestratorStarted {}));
    new_events.push(rewound);
    let commit_data = OrchestrationCommit {
        execution_id,
        new_execution: None,
        new_events,
        status: OrchestrationRuntimeStatus::Running,
        output: Value::Null,
        custom_status: instance.custom_status.clone(),
        failure: None,
        activities,
        messages,
        sub_orchestrations,
        completed_activity,
        replace_history: true,
    };
    commit(&shared, &instance, &lock, commit_data, None, &Failing::current(&instance)).await
}

/// Rewinds an instance quarantined by the turn that begins at `turn` of its `history`: that
/// turn is taken out of the history and the messages it set aside are delivered again, in
/// their order, so the orchestrator (fixed, one hopes) runs them as a new turn. When the
/// quarantined turn was the execution's first, the history is emptied and the execution
/// starts over from its `ExecutionStarted`.
async fn retry_quarantined(
    shared: &Shared,
    instance: &InstanceRecord,
    lock: &WorkItemLock,
    mut history: Vec<HistoryEvent>,
    turn: usize,
    rewound: HistoryEvent,
    completed_activity: Option<WorkItemLock>,
) -> bool {
    let set_aside: Vec<HistoryEvent> = history
        .drain(turn..)
        .filter(|e| {
            !matches!(
                e.kind,
                EventKind::OrchestratorStarted {} | EventKind::ExecutionCompleted { .. }
            )
        })
        .collect();
    let first_turn = history.is_empty();
    if !first_turn {
        history.push(HistoryEvent::new(shared.clock.now(), EventKind::OrchestratorStarted {}));
        history.push(rewound);
    }
    let messages = set_aside
        .into_iter()
        .map(|event| OrchestrationMessage {
            visible_at: None,
            instance_id: instance.instance_id.clone(),
            execution_id: Some(instance.execution_id.clone()),
            event,
        })
        .collect();
    let status = if first_turn {
        OrchestrationRuntimeStatus::Pending
    } else {
        OrchestrationRuntimeStatus::Running
    };
    let commit_data = OrchestrationCommit {
        execution_id: instance.execution_id.clone(),
        new_execution: None,
        new_events: history,
        status,
        output: Value::Null,
        custom_status: instance.custom_status.clone(),
        failure: None,
        activities: Vec::new(),
        messages,
        sub_orchestrations: Vec::new(),
        completed_activity,
        replace_history: true,
    };
    commit(shared, instance, lock, commit_data, None, &Failing::current(instance)).await
}
