//! Dispatchers: fetch work items from the store, run them through the engines, commit the
//! results. Concurrency limits, the live-instance cache and completion notifications live here.

mod activities;
mod cache;
mod completions;
mod entities;
mod limits;
mod orchestrations;
mod retention;
mod rewind;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::backend::{ActivityWorkItem, Backend, BackendError, NewInstance, OrchestrationWorkItem};
use crate::clock::Clock;
use crate::history::{Limits, OrchestrationRuntimeStatus};
use crate::orchestration::OrchestratorRegistration;
use crate::registry::Registry;

use cache::InstanceCache;
use completions::Completions;

/// How long a dispatcher waits for work before checking for shutdown.
const FETCH_WAIT: Duration = Duration::from_millis(500);
/// How long a dispatcher backs off after a store error.
const ERROR_BACKOFF: Duration = Duration::from_millis(200);

/// Worker settings (the `durableTask` section of `host.json`).
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Activities run at once (`maxConcurrentActivityFunctions`).
    pub max_concurrent_activity_functions: usize,
    /// Orchestrator turns run at once (`maxConcurrentOrchestratorFunctions`).
    pub max_concurrent_orchestrator_functions: usize,
    /// Invocations of one activity function run at once, by function name
    /// (`functions.<name>.maxConcurrency`); overrides the function's
    /// `#[activity_trigger(max_concurrency = N)]`. Each limit holds within the global one.
    pub function_max_concurrency: BTreeMap<String, usize>,
    /// Keep live orchestrations in memory between turns (`extendedSessionsEnabled`), so a
    /// turn does not replay history.
    pub extended_sessions_enabled: bool,
    /// How long a live orchestration is kept without a turn
    /// (`extendedSessionIdleTimeoutInSeconds`, 30 s by default as on Azure); it replays from
    /// history on its next event.
    pub extended_session_idle_timeout: Duration,
    /// The most live orchestrations kept at once (`maxCachedOrchestrations`, ours; 10,000 by
    /// default). When another would pass the bound, the least recently used is dropped and
    /// replays from history on its next event.
    pub max_cached_orchestrations: usize,
    /// The version given to sub-orchestrations (`defaultVersion`); the client gives it to
    /// the instances it starts.
    pub default_version: String,
    /// An entity operation that fails rolls back its own state changes and signals
    /// (`rollbackEntityOperationsOnExceptions`, true by default).
    pub rollback_entity_operations_on_exceptions: bool,
    /// The most operations one entity turn runs (`maxEntityOperationBatchSize`, 5000 by
    /// default as on Azure's dedicated plans); the rest wait for the next turn.
    pub max_entity_operation_batch_size: usize,
    /// How long a shutdown waits for the activities in flight
    /// (`gracefulShutdownTimeoutInSeconds`, 30 s by default); those still running then are
    /// stopped and their work items released, so they run again at once elsewhere or after a
    /// restart instead of waiting out their lease.
    pub graceful_shutdown_timeout: Duration,
    /// How long finished instances are kept, per status (`retentionInDays`): older ones are
    /// purged in the background, in chunks. None by default, as in Azure.
    pub retention: Vec<(OrchestrationRuntimeStatus, Duration)>,
    /// Size limits on inputs, outputs, events and custom status, and the most history events
    /// of one execution (`maxInputSize`, …, `maxOrchestrationActions`).
    pub limits: Limits,
    /// How many times a work item may be fetched before it is quarantined
    /// (`maxWorkItemAttempts`, 5 by default): an activity work item fetched more often (its
    /// runs crashed the process, or were abandoned) is not run again but fails its call with
    /// [`FailureKind::Quarantined`](crate::history::FailureKind::Quarantined).
    pub max_work_item_attempts: u32,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            max_concurrent_activity_functions: 100,
            max_concurrent_orchestrator_functions: 100,
            function_max_concurrency: BTreeMap::new(),
            extended_sessions_enabled: true,
            extended_session_idle_timeout: Duration::from_secs(30),
            max_cached_orchestrations: 10_000,
            default_version: String::new(),
            rollback_entity_operations_on_exceptions: true,
            max_entity_operation_batch_size: 5000,
            graceful_shutdown_timeout: Duration::from_secs(30),
            retention: Vec::new(),
            limits: Limits::default(),
            max_work_item_attempts: 5,
        }
    }
}

/// Counters of the work this process did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Orchestrator turns committed.
    pub orchestrator_turns: u64,
    /// Times an orchestrator's future was polled (in turns and in replays).
    pub orchestrator_polls: u64,
    /// Turns that had to rebuild the orchestration from history (cache misses).
    pub replays: u64,
    /// History events applied while replaying.
    pub replayed_events: u64,
    /// Activity invocations run.
    pub activities_run: u64,
    /// Live orchestrations in the cache now (not a counter).
    pub cached_orchestrations: u64,
    /// Live orchestrations dropped from the cache by its bound or its idle timeout.
    pub cache_evictions: u64,
}

#[derive(Debug, Default)]
struct Counters {
    orchestrator_turns: AtomicU64,
    orchestrator_polls: AtomicU64,
    replays: AtomicU64,
    replayed_events: AtomicU64,
    activities_run: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RuntimeStats {
        RuntimeStats {
            orchestrator_turns: self.orchestrator_turns.load(Ordering::Relaxed),
            orchestrator_polls: self.orchestrator_polls.load(Ordering::Relaxed),
            replays: self.replays.load(Ordering::Relaxed),
            replayed_events: self.replayed_events.load(Ordering::Relaxed),
            activities_run: self.activities_run.load(Ordering::Relaxed),
            ..RuntimeStats::default()
        }
    }
}

/// What the dispatchers share.
struct Shared {
    backend: Arc<dyn Backend>,
    registry: Arc<Registry>,
    options: WorkerOptions,
    counters: Counters,
    cache: InstanceCache,
    completions: Completions,
    /// The time of durable semantics (turn timestamps, results).
    clock: Clock,
    /// Set when a shutdown's grace period has passed: activities still running give up.
    past_deadline: watch::Receiver<bool>,
}

/// The running dispatchers of one process.
pub(crate) struct Worker {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    /// Tells the activities in flight that the grace period is over.
    deadline: watch::Sender<bool>,
    dispatchers: JoinSet<()>,
}

impl Worker {
    /// Starts one orchestration and one activity dispatcher.
    pub(crate) fn start(
        backend: Arc<dyn Backend>,
        registry: Arc<Registry>,
        options: WorkerOptions,
        clock: Clock,
    ) -> Worker {
        let (deadline, past_deadline) = watch::channel(false);
        let cache = InstanceCache::new(
            options.max_cached_orchestrations,
            options.extended_session_idle_timeout,
        );
        let shared = Arc::new(Shared {
            backend,
            registry,
            options,
            counters: Counters::default(),
            cache,
            completions: Completions::default(),
            clock,
            past_deadline,
        });
        let (stop, stopped) = watch::channel(false);
        let mut dispatchers = JoinSet::new();
        if let Some(finished) = shared.backend.finished_instances() {
            dispatchers.spawn(announce_finished(shared.clone(), finished, stopped.clone()));
        }
        dispatchers.spawn(retention::sweep(shared.clone(), stopped.clone()));
        dispatchers.spawn(orchestrations::dispatch(shared.clone(), stopped.clone()));
        dispatchers.spawn(activities::dispatch(shared.clone(), stopped));
        Worker { shared, stop, deadline, dispatchers }
    }

    /// A handle on this worker for its process's clients (the app gives it to them as their
    /// `LocalRuntime`): instances start in-process and completions are announced.
    pub(crate) fn local(&self) -> LocalWorker {
        LocalWorker { shared: self.shared.clone() }
    }

    pub(crate) fn stats(&self) -> RuntimeStats {
        RuntimeStats {
            cached_orchestrations: self.shared.cache.len() as u64,
            cache_evictions: self.shared.cache.evictions(),
            ..self.shared.counters.snapshot()
        }
    }

    pub(crate) fn clear_instance_cache(&self) {
        self.shared.cache.clear();
    }

    /// Stops fetching new work and waits for the work in flight to finish, up to the
    /// graceful shutdown timeout; then the activities still running are stopped and their
    /// work items released (orchestrator turns are short and always finish).
    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let grace = self.shared.options.graceful_shutdown_timeout;
        let drained = async { while self.dispatchers.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(
                ?grace,
                "shutdown: the grace period is over; releasing the activities still running"
            );
            let _ = self.deadline.send(true);
            while self.dispatchers.join_next().await.is_some() {}
        }
    }
}

/// Wakes this process's clients waiting on instances that other processes finished.
async fn announce_finished(
    shared: Arc<Shared>,
    mut finished: tokio::sync::broadcast::Receiver<String>,
    mut stopped: watch::Receiver<bool>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            received = finished.recv() => match received {
                Ok(instance_id) => shared.completions.notify(&instance_id),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// What a client of this process reaches of the worker.
pub(crate) struct LocalWorker {
    shared: Arc<Shared>,
}

impl LocalWorker {
    /// Creates `instance` and runs its first turn in this process, committing both at once
    /// (see [`orchestrations::start_instance`]).
    pub(crate) async fn start(
        &self,
        registration: &'static OrchestratorRegistration,
        instance: NewInstance,
    ) -> Result<(), BackendError> {
        orchestrations::start_instance(&self.shared, registration, instance).await
    }

    /// A receiver that fires when `instance_id` next finishes in this process.
    pub(crate) fn subscribe(&self, instance_id: &str) -> oneshot::Receiver<()> {
        self.shared.completions.subscribe(instance_id)
    }

    /// Forgets the subscriptions to `instance_id` whose receivers were dropped.
    pub(crate) fn unsubscribe_closed(&self, instance_id: &str) {
        self.shared.completions.unsubscribe_closed(instance_id);
    }
}

/// A fetched work item, as a dispatch loop sees it.
#[async_trait::async_trait]
trait Fetched: Send + Sized + 'static {
    /// Whether it must run alone: an orchestration work item fetched before without a
    /// commit since (its `attempt` is past 1) may be what crashed the process then.
    fn runs_alone(&self) -> bool;

    /// Gives it back unrun, taking back the attempt its fetch counted.
    async fn give_back(self, backend: &dyn Backend);
}

#[async_trait::async_trait]
impl Fetched for OrchestrationWorkItem {
    fn runs_alone(&self) -> bool {
        self.attempt > 1
    }

    async fn give_back(self, backend: &dyn Backend) {
        if let Err(error) = backend.release_orchestration(&self.lock).await {
            tracing::debug!(%error, "giving back an orchestration work item: nothing to release");
        }
    }
}

/// Activities never run alone: they may run long, and one at a time would stall all of them
/// after a crash. A crash counts against every activity then in flight.
#[async_trait::async_trait]
impl Fetched for ActivityWorkItem {
    fn runs_alone(&self) -> bool {
        false
    }

    async fn give_back(self, backend: &dyn Backend) {
        if let Err(error) = backend.release_activity(&self.lock).await {
            tracing::debug!(%error, "giving back an activity work item: nothing to release");
        }
    }
}

/// Runs `handle` for each work item `fetch` yields, at most `limit` at once, until `stopped`;
/// then waits for the handlers in flight.
///
/// A work item that [runs alone](Fetched::runs_alone) waits until the handlers in flight are
/// done, then runs with nothing beside it, so that a crash of the process counts against it
/// alone; the others of its fetch that must run alone are given back for a later fetch.
async fn dispatch_loop<T, Fetch, FetchFut, Handle, HandleFut>(
    what: &'static str,
    backend: &dyn Backend,
    limit: usize,
    mut stopped: watch::Receiver<bool>,
    fetch: Fetch,
    handle: Handle,
) where
    T: Fetched,
    Fetch: Fn(usize) -> FetchFut,
    FetchFut: Future<Output = Result<Vec<T>, BackendError>>,
    Handle: Fn(T) -> HandleFut,
    HandleFut: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut in_flight = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        // One fetch for every free slot: a shared store claims them in one round trip.
        let mut slots = vec![permit];
        while let Ok(permit) = permits.clone().try_acquire_owned() {
            slots.push(permit);
        }
        // Not raced against `stopped`: a fetch cancelled after it locked items would leave
        // them locked. It returns within FETCH_WAIT.
        let fetched = fetch(slots.len()).await;
        match fetched {
            Ok(items) => {
                let mut alone = None;
                let mut together = Vec::with_capacity(items.len());
                for item in items {
                    match (item.runs_alone(), &alone) {
                        (false, _) => together.push(item),
                        (true, None) => alone = Some(item),
                        (true, Some(_)) => item.give_back(backend).await,
                    }
                }
                for (item, permit) in together.into_iter().zip(slots) {
                    let work = handle(item);
                    in_flight.spawn(async move {
                        work.await;
                        drop(permit);
                    });
                }
                if let Some(item) = alone {
                    while in_flight.join_next().await.is_some() {}
                    tracing::info!("running a {what} work item alone: its last run did not finish");
                    handle(item).await;
                }
            }
            Err(error) => {
                tracing::error!(%error, "fetching {what} work failed");
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
        // What was fetched runs even when stopping, rather than strand its locks.
        if *stopped.borrow() {
            break;
        }
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}
