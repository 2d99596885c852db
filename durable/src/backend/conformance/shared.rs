//! Cases for stores that several processes share: each handle stands for one process.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use super::{
    Harness, LONG, Must, SHORT, StoreConfig, assert_no_orchestration, create_and_fetch, dispatcher,
    events, fetch_activity, fetch_orchestration, message, new_instance, orchestrator_started,
    running, start_with_activities, task_completed,
};
use crate::backend::{Backend, BackendError, QueueKind, QueueSpec};
use crate::history::EventKind;

/// A lease short enough to wait out in a test.
const SHORT_LEASE: Duration = Duration::from_secs(1);

fn short_leases() -> StoreConfig {
    StoreConfig { lease: SHORT_LEASE, activity_lease: SHORT_LEASE, ..StoreConfig::default() }
}

pub(crate) async fn two_dispatchers_never_both_hold_an_instance<H: Harness>(harness: &H) {
    const INSTANCES: usize = 40;
    let first = dispatcher(harness, StoreConfig::default()).await;
    let second = dispatcher(harness, StoreConfig::default()).await;
    for i in 0..INSTANCES {
        first
            .create_instance(new_instance(&format!("i{i}"), "e1", json!(i)))
            .await
            .must("create_instance");
    }
    // Both fetch at once until neither finds more; nothing is committed meanwhile, so an
    // instance handed to both would show up twice.
    let drain = async |store: &H::Store| {
        let mut items = Vec::new();
        while let Some(item) = store.fetch_orchestration(SHORT).await.must("fetch_orchestration") {
            items.push(item);
        }
        items
    };
    let (a, b) = tokio::join!(drain(&first), drain(&second));
    let ids_a: HashSet<String> = a.iter().map(|i| i.instance.instance_id.clone()).collect();
    let ids_b: HashSet<String> = b.iter().map(|i| i.instance.instance_id.clone()).collect();
    assert_eq!(ids_a.len(), a.len(), "one handle got an instance twice");
    assert_eq!(ids_b.len(), b.len(), "one handle got an instance twice");
    let both: Vec<_> = ids_a.intersection(&ids_b).collect();
    assert!(both.is_empty(), "held by both handles: {both:?}");
    assert_eq!(ids_a.len() + ids_b.len(), INSTANCES, "every instance is handed out once");
    for (store, items) in [(&first, a), (&second, b)] {
        for item in items {
            store
                .complete_orchestration(&item.lock, running("e1", vec![orchestrator_started(1)]))
                .await
                .must("complete_orchestration");
        }
    }
    harness.close(first).await;
    harness.close(second).await;
}

pub(crate) async fn an_expired_lease_is_taken_over<H: Harness>(harness: &H) {
    let first = dispatcher(harness, short_leases()).await;
    let second = dispatcher(harness, short_leases()).await;
    let held = create_and_fetch(&first, new_instance("i1", "e1", json!("in"))).await;
    assert_no_orchestration(&second).await;
    let taken = fetch_orchestration(&second).await;
    assert_eq!(taken.instance.instance_id, "i1");
    assert_eq!(taken.messages, held.messages, "the messages come with the instance");
    assert_ne!(taken.lock.token, held.lock.token, "every acquisition takes a new token");
    second
        .complete_orchestration(&taken.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .must("complete_orchestration under the new lease");
    harness.close(first).await;
    harness.close(second).await;
}

pub(crate) async fn a_commit_under_a_lost_lease_changes_nothing<H: Harness>(harness: &H) {
    let first = dispatcher(harness, short_leases()).await;
    let second = dispatcher(harness, short_leases()).await;
    first
        .create_queues(&[QueueSpec { name: "Hello".to_owned(), kind: QueueKind::Activity }])
        .await
        .must("create_queues");
    let held = create_and_fetch(&first, new_instance("i1", "e1", json!("in"))).await;
    let taken = fetch_orchestration(&second).await;
    assert_eq!(taken.instance.instance_id, "i1");

    // The first holder comes back and commits a whole turn: none of it may land.
    let mut late = running("e1", vec![orchestrator_started(1), super::started("e1", json!("in"))]);
    late.activities.push(super::activity("i1", "e1", 0, "Hello"));
    late.messages.push(message("i1", task_completed(7, json!("late"))));
    let error = first.complete_orchestration(&held.lock, late).await.err().must("a fenced commit");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    assert!(first.get_history("i1", "e1").await.must("get_history").is_empty());
    super::assert_no_activity(&second).await;
    let error = first.abandon_orchestration(&held.lock).await.err().must("a fenced abandon");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");

    // The current holder's commit lands, and consumes the messages exactly once.
    second
        .complete_orchestration(&taken.lock, running("e1", vec![orchestrator_started(2)]))
        .await
        .must("complete_orchestration under the new lease");
    assert_eq!(second.get_history("i1", "e1").await.must("get_history").len(), 1);
    assert_no_orchestration(&second).await;
    harness.close(first).await;
    harness.close(second).await;
}

pub(crate) async fn activity_results_delivered_twice_are_applied_once<H: Harness>(harness: &H) {
    let first = dispatcher(harness, short_leases()).await;
    let second = dispatcher(harness, short_leases()).await;
    first
        .create_queues(&[QueueSpec { name: "Hello".to_owned(), kind: QueueKind::Activity }])
        .await
        .must("create_queues");
    start_with_activities(&first, "i1", 1).await;
    let slow = fetch_activity(&first).await;
    // The first worker is slow: its lease lapses and the item runs again on the second.
    let again = second.fetch_activity(LONG).await.must("fetch_activity").must("the re-lease");
    assert_eq!(again.request, slow.request);
    let result = |value: &str| message("i1", task_completed(0, json!(value)));
    second.complete_activity(&again.lock, result("second")).await.must("complete_activity");
    let error = first
        .complete_activity(&slow.lock, result("first"))
        .await
        .err()
        .must("the second delivery of one activity");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    let item = fetch_orchestration(&second).await;
    assert_eq!(
        events(&item),
        vec![EventKind::TaskCompleted { task_scheduled_id: 0, result: json!("second") }]
    );
    harness.close(first).await;
    harness.close(second).await;
}

pub(crate) async fn messages_to_an_instance_whose_owner_died_are_not_lost<H: Harness>(harness: &H) {
    let owner = dispatcher(harness, short_leases()).await;
    let survivor = dispatcher(harness, short_leases()).await;
    let held = create_and_fetch(&owner, new_instance("i1", "e1", json!("in"))).await;
    // The owner dies holding the lock (no close: nothing is released).
    drop(owner);
    for n in 0..3 {
        survivor
            .send_message(message("i1", task_completed(n, json!(n))))
            .await
            .must("send_message");
    }
    let item = fetch_orchestration(&survivor).await;
    let mut expected = vec![held.messages[0].event.kind.clone()];
    expected.extend(
        (0..3).map(|n| EventKind::TaskCompleted { task_scheduled_id: n, result: json!(n) }),
    );
    assert_eq!(events(&item), expected, "the start message and the three sent meanwhile");
    survivor
        .complete_orchestration(&item.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .must("complete_orchestration");
    assert_no_orchestration(&survivor).await;
    harness.close(survivor).await;
}
