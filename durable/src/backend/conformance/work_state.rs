//! The work state a test host waits on, and timers on the store's (virtual) clock.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::backend::WorkState;
use crate::clock::Clock;

async fn work_state(store: &impl Backend) -> WorkState {
    store.work_state().await.must("work_state")
}

fn timer_at(instance_id: &str, timer_id: i64, due: DateTime<Utc>) -> OrchestrationMessage {
    OrchestrationMessage {
        instance_id: instance_id.to_owned(),
        execution_id: Some("e1".to_owned()),
        event: HistoryEvent::new(due, EventKind::TimerFired { timer_id, fire_at: due }),
        visible_at: Some(due),
    }
}

/// Locks the idle instance and commits a turn that sets a timer due at `due`.
async fn set_timer(store: &impl Backend, instance_id: &str, timer_id: i64, due: DateTime<Utc>) {
    let locked =
        store.try_lock_orchestration(instance_id).await.must("try_lock").must("the idle instance");
    let mut turn = running("e1", vec![orchestrator_started(4)]);
    turn.messages.push(timer_at(instance_id, timer_id, due));
    store
        .complete_orchestration(&locked.lock, turn)
        .await
        .must("complete_orchestration with a timer");
}

const IDLE: WorkState = WorkState { runnable: false, next_timer: None };

pub(crate) async fn work_state_counts_queued_locked_and_leased_work<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    assert_eq!(work_state(&store).await, IDLE);

    store.create_instance(new_instance("i1", "e1", json!("in"))).await.must("create_instance");
    assert!(work_state(&store).await.runnable, "a queued start message");
    let item = fetch_orchestration(&store).await;
    assert!(work_state(&store).await.runnable, "an instance locked for a turn");
    let mut turn = running("e1", vec![orchestrator_started(1), started("e1", json!("in"))]);
    turn.activities.push(activity("i1", "e1", 0, "Hello"));
    store.complete_orchestration(&item.lock, turn).await.must("complete_orchestration");
    assert!(work_state(&store).await.runnable, "a queued activity");
    let leased = fetch_activity(&store).await;
    assert!(work_state(&store).await.runnable, "a leased activity");
    store
        .complete_activity(&leased.lock, message("i1", task_completed(0, json!("r"))))
        .await
        .must("complete_activity");
    assert!(work_state(&store).await.runnable, "a queued result");

    let item = fetch_orchestration(&store).await;
    store.abandon_orchestration(&item.lock).await.must("abandon_orchestration");
    assert!(work_state(&store).await.runnable, "an abandoned turn");
    let item = fetch_orchestration(&store).await;
    let due = Utc::now() + chrono::Duration::hours(1);
    let mut turn = running("e1", vec![orchestrator_started(2)]);
    turn.messages.push(timer_at("i1", 1, due));
    store
        .complete_orchestration(&item.lock, turn)
        .await
        .must("complete_orchestration with a timer");
    assert_eq!(
        work_state(&store).await,
        WorkState { runnable: false, next_timer: Some(due) },
        "only a timer is left"
    );
    harness.close(store).await;
}

pub(crate) async fn timers_follow_the_store_clock<H: Harness>(harness: &H) {
    let start = at(100);
    let (clock, time) = Clock::virtual_at(start);
    let config = StoreConfig { clock, ..StoreConfig::default() };
    let store = dispatcher(harness, config).await;
    start_with_activities(&store, "i1", 0).await;
    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!(record.last_updated_at, start, "stamped with the store's clock");

    let due = start + chrono::Duration::hours(72);
    set_timer(&store, "i1", 0, due).await;
    assert_eq!(work_state(&store).await, WorkState { runnable: false, next_timer: Some(due) });
    time.advance(Duration::from_secs(71 * 3600)).must("advance");
    assert_no_orchestration(&store).await;
    assert!(!work_state(&store).await.runnable, "the timer is not due yet");

    // A fetch already waiting wakes when the clock reaches the timer, in no real time.
    let mut advanced_at = None;
    let (fetched, ()) = tokio::join!(store.fetch_orchestration(LONG), async {
        // Let the fetch start waiting first.
        tokio::time::sleep(SHORT).await;
        time.set(due).must("set the clock");
        advanced_at = Some(Instant::now());
    });
    let item = fetched.must("fetch_orchestration").must("the due timer");
    let woke_after = advanced_at.must("the advance").elapsed();
    assert!(woke_after < PROMPT, "the fetch woke {woke_after:?} after the advance");
    assert_eq!(events(&item), vec![timer_at("i1", 0, due).event.kind]);
    store
        .complete_orchestration(&item.lock, running("e1", Vec::new()))
        .await
        .must("complete_orchestration");

    // A timer that is due but not yet handed out counts as runnable.
    let second = due + chrono::Duration::minutes(30);
    set_timer(&store, "i1", 1, second).await;
    time.set(second).must("set the clock");
    assert_eq!(work_state(&store).await, WorkState { runnable: true, next_timer: Some(second) });
    let item = fetch_orchestration(&store).await;
    assert_eq!(events(&item), vec![timer_at("i1", 1, second).event.kind]);
    store
        .complete_orchestration(&item.lock, running("e1", Vec::new()))
        .await
        .must("complete_orchestration");
    assert_eq!(work_state(&store).await, IDLE);
    harness.close(store).await;
}
