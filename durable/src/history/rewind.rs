//! Which failures a rewind undoes.

use super::{EventKind, FailureKind, HistoryEvent};

/// The positions of the failures a rewind undoes: those recorded after the history's last
/// scheduling event, which the orchestrator did not react to (a failure it caught and
/// answered, by a retry say, stays). Empty when the instance failed in its own code.
pub(crate) fn rewindable_failures(history: &[HistoryEvent]) -> Vec<usize> {
    let after = history
        .iter()
        .rposition(|e| {
            matches!(
                e.kind,
                EventKind::TaskScheduled { .. }
                    | EventKind::TimerCreated { .. }
                    | EventKind::SubOrchestrationInstanceCreated { .. }
            )
        })
        .map_or(0, |last| last + 1);
    (after..history.len())
        .filter(|&i| {
            matches!(
                history[i].kind,
                EventKind::TaskFailed { .. } | EventKind::SubOrchestrationInstanceFailed { .. }
            )
        })
        .collect()
}

/// Where the turn that quarantined the execution begins (its `OrchestratorStarted`), when
/// the history ends in that failure: the turn recorded the messages it set aside, then the
/// failure, and a rewind delivers those messages again.
pub(crate) fn quarantined_turn(history: &[HistoryEvent]) -> Option<usize> {
    let quarantined = history.last().is_some_and(|last| {
        matches!(
            &last.kind,
            EventKind::ExecutionCompleted { failure_details: Some(failure), .. }
                if failure.error_type == FailureKind::Quarantined
        )
    });
    if !quarantined {
        return None;
    }
    history.iter().rposition(|e| matches!(e.kind, EventKind::OrchestratorStarted {}))
}
