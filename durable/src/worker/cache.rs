//! The live-instance cache: orchestrations kept in memory between turns, so that a turn
//! applies only its new events instead of replaying history.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::orchestration::engine::OrchestrationRun;

/// Live orchestrations kept between turns (extended sessions), keyed by instance id.
#[derive(Default)]
pub(super) struct InstanceCache {
    runs: Mutex<HashMap<String, CachedRun>>,
}

struct CachedRun {
    run: OrchestrationRun,
    /// History length after the run's last committed turn; a different length in the store
    /// means someone else advanced the instance and the cached run is stale.
    history_len: u64,
}

impl InstanceCache {
    pub(super) fn take(
        &self,
        instance_id: &str,
        execution_id: &str,
        history_len: u64,
    ) -> Option<OrchestrationRun> {
        let cached = self.lock().remove(instance_id)?;
        (cached.history_len == history_len && cached.run.execution_id() == execution_id)
            .then_some(cached.run)
    }

    // Runs are dropped after the cache lock is released: dropping one runs user destructors.
    pub(super) fn put(&self, instance_id: String, run: OrchestrationRun, history_len: u64) {
        let replaced = self.lock().insert(instance_id, CachedRun { run, history_len });
        drop(replaced);
    }

    pub(super) fn contains(&self, instance_id: &str) -> bool {
        self.lock().contains_key(instance_id)
    }

    pub(super) fn remove(&self, instance_id: &str) {
        let removed = self.lock().remove(instance_id);
        drop(removed);
    }

    pub(super) fn clear(&self) {
        let runs = std::mem::take(&mut *self.lock());
        drop(runs);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedRun>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
