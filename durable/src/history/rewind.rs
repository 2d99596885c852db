//! Which failures a rewind undoes.

use super::{EventKind, HistoryEvent};

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
