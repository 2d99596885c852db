//! Durable timers: messages with a due time are delivered no earlier than it, and a restart
//! neither loses them nor fires them early.

use std::time::Duration;

use super::*;
use chrono::Utc;

fn timer_message(instance_id: &str, due: DateTime<Utc>) -> OrchestrationMessage {
    OrchestrationMessage {
        instance_id: instance_id.to_owned(),
        execution_id: Some("e1".to_owned()),
        event: HistoryEvent::new(due, EventKind::TimerFired { timer_id: 0, fire_at: due }),
        visible_at: Some(due),
    }
}

/// Waits for the instance's next work item, failing after `LONG`.
async fn fetch_when_due(store: &impl Backend) -> OrchestrationWorkItem {
    store.fetch_orchestration(LONG).await.must("fetch_orchestration").must("the timer to fire")
}

pub(crate) async fn timer_messages_are_delivered_when_due_and_not_before<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    start_with_activities(&store, "i1", 0).await;
    let due = Utc::now() + chrono::Duration::milliseconds(300);
    let item = {
        let mut turn = running("e1", vec![orchestrator_started(4)]);
        turn.messages.push(timer_message("i1", due));
        let locked =
            store.try_lock_orchestration("i1").await.must("try_lock").must("the idle instance");
        store
            .complete_orchestration(&locked.lock, turn)
            .await
            .must("complete_orchestration with a timer");
        fetch_when_due(&store).await
    };
    assert!(Utc::now() >= due, "fetched {:?} early", due - Utc::now());
    assert_eq!(events(&item), vec![timer_message("i1", due).event.kind]);
    harness.close(store).await;
}

pub(crate) async fn a_scheduled_start_waits_for_its_time<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let due = Utc::now() + chrono::Duration::milliseconds(300);
    let scheduled = NewInstance { start_at: Some(due), ..new_instance("later", "e1", json!(1)) };
    store.create_instance(scheduled.clone()).await.must("create_instance");
    let record = store.get_instance("later").await.must("get_instance").must("the instance");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Pending);
    let item = fetch_when_due(&store).await;
    assert!(Utc::now() >= due, "fetched {:?} early", due - Utc::now());
    assert_eq!(item.instance.instance_id, "later");
    assert_eq!(events(&item), vec![scheduled.started_event().kind]);
    harness.close(store).await;
}

pub(crate) async fn timers_survive_a_restart_without_firing_early<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    start_with_activities(&store, "i1", 0).await;
    let due = Utc::now() + chrono::Duration::milliseconds(500);
    let locked =
        store.try_lock_orchestration("i1").await.must("try_lock").must("the idle instance");
    let mut turn = running("e1", vec![orchestrator_started(4)]);
    turn.messages.push(timer_message("i1", due));
    store
        .complete_orchestration(&locked.lock, turn)
        .await
        .must("complete_orchestration with a timer");
    harness.close(store).await;

    let store = dispatcher(harness, StoreConfig::default()).await;
    let early =
        store.fetch_orchestration(Duration::from_millis(100)).await.must("fetch_orchestration");
    if Utc::now() < due {
        assert!(early.is_none(), "a timer fired early after the restart");
    }
    let item = match early {
        Some(item) => item,
        None => fetch_when_due(&store).await,
    };
    assert!(Utc::now() >= due);
    assert_eq!(events(&item), vec![EventKind::TimerFired { timer_id: 0, fire_at: due }]);
    harness.close(store).await;
}
