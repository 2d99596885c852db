//! The live-instance cache: orchestrations kept in memory between turns, so that a turn
//! applies only its new events instead of replaying history.
//!
//! The cache is bounded twice: by count (the least recently used run goes first when a new
//! one would pass the bound) and by idleness (a run untouched for the idle timeout goes). An
//! evicted instance replays from history on its next event, as after a restart. Eviction
//! needs no thread of its own: it happens when a run is put, and on [`InstanceCache::expire`],
//! which the orchestration dispatcher calls before each fetch.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::orchestration::engine::OrchestrationRun;

/// Live orchestrations kept between turns (extended sessions), keyed by instance id.
pub(super) struct InstanceCache {
    /// The most runs kept (`maxCachedOrchestrations`).
    capacity: usize,
    /// How long a run is kept without a turn (`extendedSessionIdleTimeoutInSeconds`).
    idle_timeout: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    runs: HashMap<String, CachedRun>,
    /// Instance ids by when their run was put, oldest first. A run is used only by taking it
    /// out and putting it back, so this is also least recently used first, and the idle ones
    /// are at the front.
    order: BTreeMap<u64, String>,
    /// The key of the next put in `order`.
    next_seq: u64,
    /// Runs evicted (by the bound or by idleness) since the cache was made.
    evictions: u64,
}

struct CachedRun {
    run: OrchestrationRun,
    /// History length after the run's last committed turn; a different length in the store
    /// means someone else advanced the instance and the cached run is stale.
    history_len: u64,
    /// Its key in `State::order`.
    seq: u64,
    /// When it was put.
    stored_at: Instant,
}

impl InstanceCache {
    /// A cache keeping at most `capacity` runs, each for at most `idle_timeout` without a turn.
    pub(super) fn new(capacity: usize, idle_timeout: Duration) -> InstanceCache {
        InstanceCache { capacity, idle_timeout, state: Mutex::new(State::default()) }
    }

    /// Takes the cached run of an instance out, if it is current (same execution, same
    /// history length as the store's).
    pub(super) fn take(
        &self,
        instance_id: &str,
        execution_id: &str,
        history_len: u64,
    ) -> Option<OrchestrationRun> {
        let mut state = self.lock();
        let cached = state.remove(instance_id)?;
        drop(state);
        (cached.history_len == history_len && cached.run.execution_id() == execution_id)
            .then_some(cached.run)
    }

    /// Keeps `run` as the instance's live run, evicting the idle runs and then the least
    /// recently used ones beyond the bound.
    // Runs are dropped after the cache lock is released: dropping one runs user destructors.
    pub(super) fn put(
        &self,
        instance_id: String,
        run: OrchestrationRun,
        history_len: u64,
        now: Instant,
    ) {
        if self.capacity == 0 {
            drop(run);
            return;
        }
        let mut state = self.lock();
        let replaced = state.remove(&instance_id);
        let mut evicted = state.expire(now, self.idle_timeout);
        while state.runs.len() >= self.capacity {
            match state.pop_oldest() {
                Some(oldest) => evicted.push(oldest),
                None => break,
            }
        }
        state.evictions += evicted.len() as u64;
        let seq = state.next_seq;
        state.next_seq += 1;
        state.order.insert(seq, instance_id.clone());
        state.runs.insert(instance_id, CachedRun { run, history_len, seq, stored_at: now });
        drop(state);
        drop(replaced);
        drop(evicted);
    }

    /// Evicts the runs idle for the idle timeout or longer at `now`.
    pub(super) fn expire(&self, now: Instant) {
        let mut state = self.lock();
        let evicted = state.expire(now, self.idle_timeout);
        state.evictions += evicted.len() as u64;
        drop(state);
        drop(evicted);
    }

    pub(super) fn contains(&self, instance_id: &str) -> bool {
        self.lock().runs.contains_key(instance_id)
    }

    pub(super) fn remove(&self, instance_id: &str) {
        let removed = self.lock().remove(instance_id);
        drop(removed);
    }

    pub(super) fn clear(&self) {
        let mut state = self.lock();
        state.order.clear();
        let runs = std::mem::take(&mut state.runs);
        drop(state);
        drop(runs);
    }

    /// The runs cached now.
    pub(super) fn len(&self) -> usize {
        self.lock().runs.len()
    }

    /// The runs evicted so far (by the bound or by idleness).
    pub(super) fn evictions(&self) -> u64 {
        self.lock().evictions
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn remove(&mut self, instance_id: &str) -> Option<CachedRun> {
        let cached = self.runs.remove(instance_id)?;
        self.order.remove(&cached.seq);
        Some(cached)
    }

    fn pop_oldest(&mut self) -> Option<CachedRun> {
        let (_, instance_id) = self.order.pop_first()?;
        self.runs.remove(&instance_id)
    }

    /// Removes the runs put `idle_timeout` or longer before `now` (they are at the front).
    fn expire(&mut self, now: Instant, idle_timeout: Duration) -> Vec<CachedRun> {
        let mut expired = Vec::new();
        while let Some((_, instance_id)) = self.order.first_key_value() {
            let idle = self.runs.get(instance_id).is_none_or(|cached| {
                now.saturating_duration_since(cached.stored_at) >= idle_timeout
            });
            if !idle {
                break;
            }
            expired.extend(self.pop_oldest());
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::{BoxFuture, FunctionResult};
    use crate::history::Limits;
    use crate::orchestration::{DurableOrchestrationContext, OrchestratorRegistration};

    fn waits(_context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
        Box::pin(std::future::pending())
    }

    static WAITS: OrchestratorRegistration = OrchestratorRegistration {
        name: "Waits",
        rust_path: "tests::waits",
        invoke: waits,
        validate_input: None,
    };

    /// A run not started yet: its execution id is empty.
    fn run(instance_id: &str) -> OrchestrationRun {
        OrchestrationRun::new(&WAITS, instance_id, Limits::default())
    }

    fn put(cache: &InstanceCache, instance_id: &str, at: Instant) {
        cache.put(instance_id.to_owned(), run(instance_id), 1, at);
    }

    const IDLE: Duration = Duration::from_secs(30);

    #[test]
    fn the_bound_holds_and_the_least_recently_used_goes_first() {
        let cache = InstanceCache::new(3, IDLE);
        let now = Instant::now();
        for id in ["a", "b", "c"] {
            put(&cache, id, now);
        }
        // A turn of "a" takes its run and puts it back: "b" is now the least recently used.
        let a = cache.take("a", "", 1);
        assert!(a.is_some());
        if let Some(a) = a {
            cache.put("a".to_owned(), a, 2, now);
        }
        put(&cache, "d", now);
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains("b"));
        assert!(cache.contains("a") && cache.contains("c") && cache.contains("d"));
        put(&cache, "e", now);
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains("c"));
        assert_eq!(cache.evictions(), 2);
        // Putting an instance's run again replaces it rather than evicting another.
        put(&cache, "e", now);
        assert_eq!((cache.len(), cache.evictions()), (3, 2));
    }

    #[test]
    fn idle_runs_expire() {
        let cache = InstanceCache::new(10, IDLE);
        let start = Instant::now();
        put(&cache, "old", start);
        put(&cache, "newer", start + Duration::from_secs(20));
        cache.expire(start + Duration::from_secs(29));
        assert_eq!(cache.len(), 2);
        cache.expire(start + IDLE);
        assert!(!cache.contains("old") && cache.contains("newer"));
        // A put sweeps too.
        put(&cache, "latest", start + Duration::from_secs(50));
        assert!(!cache.contains("newer") && cache.contains("latest"));
        assert_eq!((cache.len(), cache.evictions()), (1, 2));
    }

    #[test]
    fn a_stale_run_is_not_returned() {
        let cache = InstanceCache::new(10, IDLE);
        let now = Instant::now();
        put(&cache, "a", now);
        // Someone else advanced the instance: the store has more history than the run.
        assert!(cache.take("a", "", 2).is_none());
        // The stale run is gone either way.
        assert!(!cache.contains("a"));
        put(&cache, "b", now);
        assert!(cache.take("b", "another execution", 1).is_none());
    }

    #[test]
    fn a_zero_bound_keeps_nothing() {
        let cache = InstanceCache::new(0, IDLE);
        put(&cache, "a", Instant::now());
        assert_eq!(cache.len(), 0);
    }
}
