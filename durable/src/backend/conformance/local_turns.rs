//! Cases for the shortcuts a dispatching worker takes: creating an instance together with
//! its first turn, and running the turn an activity result triggers right where the result
//! was produced.

use serde_json::json;

use super::*;

pub(crate) async fn create_with_first_turn_commits_it_at_once<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let first_turn_events = vec![
        orchestrator_started(1),
        started("e1", json!("in")),
        scheduled(0, "Hello", json!({ "n": 0 })),
    ];
    let mut turn = running("e1", first_turn_events.clone());
    turn.custom_status = json!("first");
    turn.activities.push(activity("i1", "e1", 0, "Hello"));
    store
        .create_instance_with_turn(new_instance("i1", "e1", json!("in")), turn.clone())
        .await
        .must("create_instance_with_turn");

    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Running);
    assert_eq!((record.input, record.custom_status), (json!("in"), json!("first")));
    assert_eq!(store.get_history("i1", "e1").await.must("get_history"), first_turn_events);
    assert_eq!(fetch_activity(&store).await.request, activity("i1", "e1", 0, "Hello"));
    assert_no_orchestration(&store).await;

    let error = store
        .create_instance_with_turn(new_instance("i1", "e2", json!("other")), turn)
        .await
        .err()
        .must("a second create of a running id fails");
    assert!(matches!(error, BackendError::InstanceExists { .. }), "{error:?}");
    assert_eq!(
        store.get_history("i1", "e1").await.must("get_history").len(),
        3,
        "the refused create wrote nothing"
    );
    assert!(store.get_history("i1", "e2").await.must("get_history").is_empty());
    harness.close(store).await;
}

pub(crate) async fn local_turn_consumes_the_activity_result<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    start_with_activities(&store, "i1", 2).await;
    let a = fetch_activity(&store).await;
    let b = fetch_activity(&store).await;

    let item = store
        .try_lock_orchestration("i1")
        .await
        .must("try_lock_orchestration")
        .must("an idle instance is locked");
    assert!(item.messages.is_empty());
    assert_eq!(item.history_len, 4);
    assert!(
        store.try_lock_orchestration("i1").await.must("try_lock").is_none(),
        "a locked instance is not locked twice"
    );
    assert!(store.try_lock_orchestration("nobody").await.must("try_lock").is_none());

    let mut turn = running("e1", vec![orchestrator_started(4), task_completed(0, json!("a"))]);
    turn.completed_activity = Some(a.lock.clone());
    store
        .complete_orchestration(&item.lock, turn)
        .await
        .must("complete_orchestration with the activity");
    let history = store.get_history("i1", "e1").await.must("get_history");
    assert_eq!(history.len(), 6);
    assert_eq!(history[5], task_completed(0, json!("a")));
    let error = store
        .complete_activity(&a.lock, message("i1", task_completed(0, json!("again"))))
        .await
        .err()
        .must("the consumed item is gone");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    assert_no_orchestration(&store).await;

    // A turn whose activity lease is stale commits nothing, and its lock can be abandoned.
    store
        .complete_activity(&b.lock, message("i1", task_completed(1, json!("b"))))
        .await
        .must("complete_activity");
    let item = fetch_orchestration(&store).await;
    let mut stale = running("e1", vec![orchestrator_started(5)]);
    stale.completed_activity = Some(b.lock.clone());
    let error = store
        .complete_orchestration(&item.lock, stale)
        .await
        .err()
        .must("a commit with a lost lease fails");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    assert_eq!(store.get_history("i1", "e1").await.must("get_history").len(), 6);
    store.abandon_orchestration(&item.lock).await.must("the instance lock is still held");
    assert_eq!(
        events(&fetch_orchestration(&store).await),
        vec![task_completed(1, json!("b")).kind]
    );
    harness.close(store).await;
}
