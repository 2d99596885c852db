//! The backend conformance suite: every case is written once, as an async fn taking a
//! [`Harness`] that opens fresh stores, and expanded per backend by [`conformance_suite!`]
//! into one `#[tokio::test]` per case. Adding a backend is one line:
//!
//! ```ignore
//! mod postgres { crate::backend::conformance::conformance_suite!(super::PgHarness::new()); }
//! ```
//!
//! Cases wait on conditions with deadlines, never on sleeps.

use std::fmt::Display;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::{
    ActivityRequest, ActivityWorkItem, Backend, BackendError, ExecutionStart, NewInstance,
    OrchestrationCommit, OrchestrationWorkItem, QueueKind, QueueLimits, QueueSpec, QueueStats,
    SubOrchestrationStart, WorkItemLock,
};
use crate::history::{
    EventKind, FailureDetails, HistoryEvent, OrchestrationMessage, OrchestrationRuntimeStatus,
    ParentInstance,
};

/// How a case configures a store.
#[derive(Debug, Clone)]
pub(crate) struct StoreConfig {
    /// The activity lease duration.
    pub(crate) activity_lease: Duration,
    /// How long an instance claimed for a turn stays locked, on stores whose instance locks
    /// expire (shared stores).
    pub(crate) lease: Duration,
    /// The store's clock (when timers are due, record timestamps).
    pub(crate) clock: crate::clock::Clock,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            activity_lease: Duration::from_secs(300),
            lease: Duration::from_secs(300),
            clock: crate::clock::Clock::system(),
        }
    }
}

/// Opens handles on one fresh store per test.
pub(crate) trait Harness {
    /// The backend under test.
    type Store: Backend;
    /// Opens a handle on this harness's store: a new store the first time, another handle
    /// (another client, as if from another process) on the same data afterwards.
    async fn open(&self, config: StoreConfig) -> Self::Store;
    /// Closes a handle, releasing what it holds (dispatch, locks, leases).
    async fn close(&self, store: Self::Store);
}

/// Expands the listed cases into `#[tokio::test]`s against a harness expression.
macro_rules! conformance_cases {
    ($harness:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let harness = $harness;
                $crate::backend::conformance::$case(&harness).await;
            }
        )+
    };
}

/// The cases that use a single handle on the store (they run on every store, including
/// private in-memory ones).
macro_rules! single_handle_suite {
    ($harness:expr) => {
        $crate::backend::conformance::conformance_cases!($harness;
            create_and_get_instance,
            duplicate_create_while_running_fails,
            create_over_finished_instance_replaces_it,
            fetch_returns_messages_in_order_and_locks,
            complete_appends_history_across_turns,
            failed_turn_records_failure,
            continue_as_new_starts_a_new_execution,
            commit_starts_sub_orchestrations,
            first_turn_starts_sub_orchestrations,
            a_start_whose_notice_is_for_the_target_delivers_it_there,
            commit_can_replace_the_history,
            messages_arriving_during_a_lock_are_fetched_next,
            abandon_orchestration_refetches,
            orchestration_attempts_count_locks_until_a_commit,
            stale_or_reused_orchestration_lock_is_lost,
            messages_to_unknown_instances_are_dropped,
            activity_lease_expiry_refetches,
            complete_activity_delivers_result,
            activity_fetch_respects_queue_caps,
            abandon_activity_refetches,
            activity_attempts_count_every_lease,
            send_message_to_unknown_instance_fails,
            queue_stats_depth,
            fetch_orchestration_wakes_promptly,
            fetch_activity_wakes_promptly,
            concurrent_creates_commit_independently,
            create_with_first_turn_commits_it_at_once,
            local_turn_consumes_the_activity_result,
            timer_messages_are_delivered_when_due_and_not_before,
            a_scheduled_start_waits_for_its_time,
            work_state_counts_queued_locked_and_leased_work,
            timers_follow_the_store_clock,
            list_instances_filters_alone_and_combined,
            list_instances_pages_each_instance_exactly_once,
            list_instances_rejects_bad_tokens_and_page_sizes,
            purge_instance_deletes_every_execution_and_its_queued_work,
            purge_refuses_unfinished_instances_and_changes_nothing,
            purging_everything_empties_the_hub,
            purge_by_filter_deletes_matching_finished_instances,
            purged_id_can_be_created_again,
            list_instances_by_kind_and_update_time,
            purges_keep_entities_apart_and_delete_only_idle_ones,
            purge_by_filter_takes_a_limit_and_a_finish_time,
        );
    };
}

/// Every case: the single-handle ones and those that open several handles on one store.
macro_rules! conformance_suite {
    ($harness:expr) => {
        $crate::backend::conformance::single_handle_suite!($harness);
        $crate::backend::conformance::conformance_cases!($harness;
            durable_across_close_and_reopen,
            activity_attempts_survive_a_restart,
            orchestration_attempts_survive_a_restart,
            client_handle_writes_reach_the_dispatcher,
            timers_survive_a_restart_without_firing_early,
            purge_by_another_handle_leaves_the_dispatcher_nothing_stale,
        );
    };
}

/// The cases only a store that several processes share needs: leases that expire, and
/// fencing.
macro_rules! shared_store_suite {
    ($harness:expr) => {
        $crate::backend::conformance::conformance_cases!($harness;
            two_dispatchers_never_both_hold_an_instance,
            an_expired_lease_is_taken_over,
            a_commit_under_a_lost_lease_changes_nothing,
            activity_results_delivered_twice_are_applied_once,
            messages_to_an_instance_whose_owner_died_are_not_lost,
        );
    };
}

pub(crate) use {conformance_cases, conformance_suite, shared_store_suite, single_handle_suite};

mod activities;
mod local_turns;
mod orchestrations;
mod postgres;
mod queries;
mod shared;
mod timers;
mod work_state;

pub(crate) use activities::*;
pub(crate) use local_turns::*;
pub(crate) use orchestrations::*;
pub(crate) use queries::*;
pub(crate) use shared::*;
pub(crate) use timers::*;
pub(crate) use work_state::*;

// ---- helpers ------------------------------------------------------------------------------

/// A long wait for work that must come.
const LONG: Duration = Duration::from_secs(10);
/// A short wait for work that must not come.
const SHORT: Duration = Duration::from_millis(50);
/// How soon a waiting fetch must see work enqueued meanwhile.
const PROMPT: Duration = Duration::from_millis(100);

trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T, E: Display> Must<T> for Result<T, E> {
    fn must(self, what: &str) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!("{what}: {error}"),
        }
    }
}

impl<T> Must<T> for Option<T> {
    fn must(self, what: &str) -> T {
        match self {
            Some(value) => value,
            None => panic!("{what}: got nothing"),
        }
    }
}

/// A fixed time with sub-microsecond digits, so a store that truncates is caught.
fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + seconds, 123_456_789).single().must("a valid timestamp")
}

fn new_instance(instance_id: &str, execution_id: &str, input: Value) -> NewInstance {
    NewInstance {
        instance_id: instance_id.to_owned(),
        name: "Orchestrator".to_owned(),
        execution_id: execution_id.to_owned(),
        input,
        created_at: at(0),
        version: String::new(),
        parent: None,
        start_at: None,
        trace: None,
    }
}

fn started(execution_id: &str, input: Value) -> HistoryEvent {
    HistoryEvent::new(
        at(1),
        EventKind::ExecutionStarted {
            name: "Orchestrator".to_owned(),
            execution_id: execution_id.to_owned(),
            input,
            version: String::new(),
            parent_instance: None,
            trace_context: None,
        },
    )
}

fn orchestrator_started(seconds: i64) -> HistoryEvent {
    HistoryEvent::new(at(seconds), EventKind::OrchestratorStarted {})
}

fn scheduled(event_id: i64, name: &str, input: Value) -> HistoryEvent {
    HistoryEvent {
        event_id,
        timestamp: at(2),
        kind: EventKind::TaskScheduled { name: name.to_owned(), input },
    }
}

fn task_completed(task_scheduled_id: i64, result: Value) -> HistoryEvent {
    HistoryEvent::new(at(3), EventKind::TaskCompleted { task_scheduled_id, result })
}

fn message(instance_id: &str, event: HistoryEvent) -> OrchestrationMessage {
    OrchestrationMessage {
        visible_at: None,
        instance_id: instance_id.to_owned(),
        execution_id: None,
        event,
    }
}

fn activity(instance_id: &str, execution_id: &str, id: i64, name: &str) -> ActivityRequest {
    ActivityRequest {
        instance_id: instance_id.to_owned(),
        execution_id: execution_id.to_owned(),
        task_scheduled_id: id,
        name: name.to_owned(),
        input: json!({ "n": id }),
    }
}

/// A turn that only records `events` and leaves the instance `Running`.
fn running(execution_id: &str, events: Vec<HistoryEvent>) -> OrchestrationCommit {
    OrchestrationCommit {
        execution_id: execution_id.to_owned(),
        new_execution: None,
        new_events: events,
        status: OrchestrationRuntimeStatus::Running,
        output: Value::Null,
        custom_status: Value::Null,
        failure: None,
        activities: Vec::new(),
        messages: Vec::new(),
        sub_orchestrations: Vec::new(),
        completed_activity: None,
        replace_history: false,
    }
}

/// A turn that completes the instance with `output`.
fn completed(execution_id: &str, output: Value) -> OrchestrationCommit {
    OrchestrationCommit {
        new_events: vec![
            orchestrator_started(5),
            HistoryEvent::new(
                at(5),
                EventKind::ExecutionCompleted {
                    orchestration_status: OrchestrationRuntimeStatus::Completed,
                    result: output.clone(),
                    failure_details: None,
                },
            ),
        ],
        status: OrchestrationRuntimeStatus::Completed,
        output,
        ..running(execution_id, Vec::new())
    }
}

async fn dispatcher<H: Harness>(harness: &H, config: StoreConfig) -> H::Store {
    let store = harness.open(config).await;
    assert!(
        store.acquire_dispatch().await.must("acquire_dispatch"),
        "a fresh store must let its first handle dispatch"
    );
    store
}

async fn fetch_orchestration(store: &impl Backend) -> OrchestrationWorkItem {
    store
        .fetch_orchestration(LONG)
        .await
        .must("fetch_orchestration")
        .must("an orchestration work item within the wait")
}

async fn fetch_activity(store: &impl Backend) -> ActivityWorkItem {
    store
        .fetch_activity(LONG)
        .await
        .must("fetch_activity")
        .must("an activity work item within the wait")
}

/// Creates an instance and fetches its first work item.
async fn create_and_fetch(store: &impl Backend, instance: NewInstance) -> OrchestrationWorkItem {
    store.create_instance(instance).await.must("create_instance");
    fetch_orchestration(store).await
}

async fn assert_no_orchestration(store: &impl Backend) {
    let item = store.fetch_orchestration(SHORT).await.must("fetch_orchestration");
    assert!(item.is_none(), "expected no orchestration work, got {item:?}");
}

async fn assert_no_activity(store: &impl Backend) {
    let item = store.fetch_activity(SHORT).await.must("fetch_activity");
    assert!(item.is_none(), "expected no activity work, got {item:?}");
}

fn events(item: &OrchestrationWorkItem) -> Vec<EventKind> {
    item.messages.iter().map(|m| m.event.kind.clone()).collect()
}

fn stats_of<'a>(stats: &'a [QueueStats], name: &str, kind: QueueKind) -> &'a QueueStats {
    stats.iter().find(|s| s.name == name && s.kind == kind).must("the queue in queue_stats")
}

/// Creates an instance, runs its first turn (scheduling `activities` activities named
/// `"Hello"`) and returns the store's view of it.
async fn start_with_activities(store: &impl Backend, instance_id: &str, activities: i64) {
    let item = create_and_fetch(store, new_instance(instance_id, "e1", json!("in"))).await;
    let mut events = vec![orchestrator_started(1), started("e1", json!("in"))];
    let mut commit = running("e1", Vec::new());
    for id in 0..activities {
        events.push(scheduled(id, "Hello", json!({ "n": id })));
        commit.activities.push(activity(instance_id, "e1", id, "Hello"));
    }
    commit.new_events = events;
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
}

// ---- the SQLite harnesses -----------------------------------------------------------------

/// A fresh SQLite file in a temporary directory; every `open` is another handle on it.
pub(crate) struct SqliteFile {
    dir: tempfile::TempDir,
}

impl SqliteFile {
    pub(crate) fn new() -> Self {
        SqliteFile { dir: tempfile::tempdir().must("a temporary directory") }
    }
}

fn sqlite_options(config: StoreConfig) -> super::SqliteOptions {
    super::SqliteOptions {
        activity_lease: config.activity_lease,
        clock: config.clock,
        ..super::SqliteOptions::default()
    }
}

impl Harness for SqliteFile {
    type Store = super::SqliteBackend;

    async fn open(&self, config: StoreConfig) -> Self::Store {
        super::SqliteBackend::open(self.dir.path().join("durable.db"), sqlite_options(config))
            .must("open the SQLite file")
    }

    async fn close(&self, store: Self::Store) {
        store.close().await;
    }
}

/// A private in-memory SQLite database (single-handle cases only).
pub(crate) struct SqliteMemory;

impl Harness for SqliteMemory {
    type Store = super::SqliteBackend;

    async fn open(&self, config: StoreConfig) -> Self::Store {
        super::SqliteBackend::in_memory(sqlite_options(config)).must("open an in-memory store")
    }

    async fn close(&self, store: Self::Store) {
        store.close().await;
    }
}

mod sqlite_file {
    crate::backend::conformance::conformance_suite!(super::SqliteFile::new());
    // SQLite lets one process dispatch a hub.
    crate::backend::conformance::conformance_cases!(super::SqliteFile::new();
        second_dispatcher_is_refused,
    );
}

mod sqlite_memory {
    crate::backend::conformance::single_handle_suite!(super::SqliteMemory);
}
