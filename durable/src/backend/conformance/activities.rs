//! Cases about activities, queues, wake-ups, and several handles on one store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use super::*;

// ---- activities ---------------------------------------------------------------------------

pub(crate) async fn activity_lease_expiry_refetches<H: Harness>(harness: &H) {
    let lease = Duration::from_millis(300);
    let store =
        dispatcher(harness, StoreConfig { activity_lease: lease, ..StoreConfig::default() }).await;
    start_with_activities(&store, "i1", 1).await;
    let first = fetch_activity(&store).await;
    let leased_at = Instant::now();
    // Nobody else gets it while leased; after the lease it comes back.
    let second = fetch_activity(&store).await;
    assert!(leased_at.elapsed() >= lease - Duration::from_millis(50));
    assert!(leased_at.elapsed() < lease + Duration::from_secs(2));
    assert_eq!(second.request, first.request);
    assert_eq!(second.lock.ids, first.lock.ids);
    assert_ne!(second.lock.token, first.lock.token);
    let error = store
        .complete_activity(&first.lock, message("i1", task_completed(0, json!("stale"))))
        .await
        .err()
        .must("completing with an expired lease fails");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    store
        .complete_activity(&second.lock, message("i1", task_completed(0, json!("fresh"))))
        .await
        .must("complete_activity with the current lease");
    let item = fetch_orchestration(&store).await;
    assert_eq!(
        events(&item),
        vec![EventKind::TaskCompleted { task_scheduled_id: 0, result: json!("fresh") }]
    );
    harness.close(store).await;
}

pub(crate) async fn activity_fetch_respects_queue_caps<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let item = create_and_fetch(&store, new_instance("i1", "e1", json!(null))).await;
    let names = ["Slow", "Slow", "Slow", "Fast", "Fast"];
    let commit = OrchestrationCommit {
        activities: (0..).zip(names).map(|(id, name)| activity("i1", "e1", id, name)).collect(),
        ..running("e1", vec![orchestrator_started(1), started("e1", json!(null))])
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    let count = |items: &[ActivityWorkItem], name: &str| {
        items.iter().filter(|item| item.request.name == name).count()
    };
    // A cap of 1 takes one Slow item and passes over the others to reach the Fast ones.
    let one_slow = QueueLimits::none().with_cap("Slow", 1);
    let first = store.fetch_activities(10, &one_slow, LONG).await.must("fetch_activities");
    assert_eq!((count(&first, "Slow"), count(&first, "Fast")), (1, 2), "{first:?}");
    // A cap of 0 leaves the queue alone: nothing else is ready.
    let no_slow = QueueLimits::none().with_cap("Slow", 0);
    let none = store.fetch_activities(10, &no_slow, SHORT).await.must("fetch_activities");
    assert!(none.is_empty(), "a queue capped at 0 gave {none:?}");
    // An interrupt ends the wait at once, with nothing leased.
    let interrupt = Arc::new(tokio::sync::Notify::new());
    interrupt.notify_one();
    let interrupted = no_slow.clone().with_interrupt(interrupt);
    let asked = Instant::now();
    let none = store.fetch_activities(10, &interrupted, LONG).await.must("fetch_activities");
    assert!(none.is_empty() && asked.elapsed() < LONG / 2, "the interrupt did not end the wait");
    // The items passed over were never leased: an unlimited fetch takes them now.
    let rest =
        store.fetch_activities(10, &QueueLimits::none(), LONG).await.must("fetch_activities");
    assert_eq!(count(&rest, "Slow"), 2, "{rest:?}");
    harness.close(store).await;
}

pub(crate) async fn complete_activity_delivers_result<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    start_with_activities(&store, "i1", 2).await;
    let a = fetch_activity(&store).await;
    let b = fetch_activity(&store).await;
    assert_eq!(
        (a.request.task_scheduled_id, b.request.task_scheduled_id),
        (0, 1),
        "activities come in order"
    );
    assert_no_activity(&store).await;
    store
        .complete_activity(&b.lock, message("i1", task_completed(1, json!("b"))))
        .await
        .must("complete_activity");
    let error = store
        .complete_activity(&b.lock, message("i1", task_completed(1, json!("again"))))
        .await
        .err()
        .must("completing twice fails");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    store
        .complete_activity(&a.lock, message("i1", task_completed(0, json!("a"))))
        .await
        .must("complete_activity");
    let item = fetch_orchestration(&store).await;
    assert_eq!(
        events(&item),
        vec![
            EventKind::TaskCompleted { task_scheduled_id: 1, result: json!("b") },
            EventKind::TaskCompleted { task_scheduled_id: 0, result: json!("a") },
        ]
    );
    assert_no_activity(&store).await;
    harness.close(store).await;
}

pub(crate) async fn abandon_activity_refetches<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    start_with_activities(&store, "i1", 1).await;
    let first = fetch_activity(&store).await;
    store.abandon_activity(&first.lock).await.must("abandon_activity");
    let second = fetch_activity(&store).await;
    assert_eq!(second.request, first.request);
    assert_eq!(second.enqueued_at, first.enqueued_at);
    let error = store
        .complete_activity(&first.lock, message("i1", task_completed(0, json!(0))))
        .await
        .err()
        .must("completing an abandoned lease fails");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    store
        .complete_activity(&second.lock, message("i1", task_completed(0, json!(0))))
        .await
        .must("complete_activity");
    harness.close(store).await;
}

pub(crate) async fn activity_attempts_count_every_lease<H: Harness>(harness: &H) {
    let lease = Duration::from_millis(300);
    let store =
        dispatcher(harness, StoreConfig { activity_lease: lease, ..StoreConfig::default() }).await;
    start_with_activities(&store, "i1", 1).await;
    let first = fetch_activity(&store).await;
    assert_eq!(first.attempt, 1, "the first lease is attempt 1");
    store.abandon_activity(&first.lock).await.must("abandon_activity");
    let second = fetch_activity(&store).await;
    assert_eq!(second.attempt, 2, "an abandon counts");
    store.release_activity(&second.lock).await.must("release_activity");
    let second = fetch_activity(&store).await;
    assert_eq!(second.attempt, 2, "a release takes its attempt back");
    // Not renewed: the lease expires and the next fetch counts again.
    let third = fetch_activity(&store).await;
    assert_eq!(third.lock.ids, first.lock.ids);
    assert_eq!(third.attempt, 3, "an expired lease counts");
    store
        .complete_activity(&third.lock, message("i1", task_completed(0, json!("done"))))
        .await
        .must("complete_activity");
    // Another item's count is its own.
    start_with_activities(&store, "i2", 1).await;
    let other = fetch_activity(&store).await;
    assert_eq!(other.request.instance_id, "i2");
    assert_eq!(other.attempt, 1, "a new item starts from 1");
    harness.close(store).await;
}

pub(crate) async fn activity_attempts_survive_a_restart<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    start_with_activities(&store, "i1", 1).await;
    let leased = fetch_activity(&store).await;
    assert_eq!(leased.attempt, 1);
    // The process dies with the item leased: nothing abandons it, yet the attempt counted.
    harness.close(store).await;

    let store = dispatcher(harness, StoreConfig::default()).await;
    let again = fetch_activity(&store).await;
    assert_eq!(again.request, leased.request);
    assert_eq!(again.attempt, 2, "the attempt of the run that died was recorded");
    harness.close(store).await;
}

// ---- queues and wake-ups ------------------------------------------------------------------

pub(crate) async fn queue_stats_depth<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let queues = [
        QueueSpec { name: "Orchestrator".to_owned(), kind: QueueKind::Orchestrator },
        QueueSpec { name: "Hello".to_owned(), kind: QueueKind::Activity },
    ];
    store.create_queues(&queues).await.must("create_queues");
    store.create_queues(&queues).await.must("create_queues again");
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats.len(), 2);
    for queue in &queues {
        let s = stats_of(&stats, &queue.name, queue.kind);
        assert_eq!((s.depth, s.oldest_enqueued_at), (0, None));
    }
    let before = Utc::now();
    store.create_instance(new_instance("i1", "e1", json!(null))).await.must("create_instance");
    store.create_instance(new_instance("i2", "e1", json!(null))).await.must("create_instance");
    let stats = store.queue_stats().await.must("queue_stats");
    let orchestrator = stats_of(&stats, "Orchestrator", QueueKind::Orchestrator);
    assert_eq!(orchestrator.depth, 2);
    let oldest = orchestrator.oldest_enqueued_at.must("an oldest entry");
    assert!(oldest >= before && oldest <= Utc::now(), "{oldest} is not now");

    // Locked messages still count; consumed ones do not; activities land in their queue.
    let item = fetch_orchestration(&store).await;
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats_of(&stats, "Orchestrator", QueueKind::Orchestrator).depth, 2);
    let id = item.instance.instance_id.clone();
    let commit = OrchestrationCommit {
        activities: (0..3).map(|n| activity(&id, "e1", n, "Hello")).collect(),
        ..running("e1", vec![orchestrator_started(1)])
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats_of(&stats, "Orchestrator", QueueKind::Orchestrator).depth, 1);
    let hello = stats_of(&stats, "Hello", QueueKind::Activity);
    assert_eq!(hello.depth, 3);
    assert!(hello.oldest_enqueued_at.is_some());
    let work = fetch_activity(&store).await;
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats_of(&stats, "Hello", QueueKind::Activity).depth, 3);
    store
        .complete_activity(&work.lock, message(&id, task_completed(0, json!(0))))
        .await
        .must("complete_activity");
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats_of(&stats, "Hello", QueueKind::Activity).depth, 2);
    assert_eq!(stats_of(&stats, "Orchestrator", QueueKind::Orchestrator).depth, 2);
    harness.close(store).await;
}

pub(crate) async fn fetch_orchestration_wakes_promptly<H: Harness>(harness: &H) {
    let store = Arc::new(dispatcher(harness, StoreConfig::default()).await);
    let waiting = Arc::clone(&store);
    let fetch = tokio::spawn(async move {
        let item = waiting.fetch_orchestration(Duration::from_secs(30)).await;
        (item, Instant::now())
    });
    // Let the fetch start waiting.
    tokio::task::yield_now().await;
    store.create_instance(new_instance("i1", "e1", json!(null))).await.must("create_instance");
    let created = Instant::now();
    let (item, fetched) = tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .must("the fetch returns")
        .must("the fetch task");
    let item = item.must("fetch_orchestration").must("a work item");
    assert_eq!(item.instance.instance_id, "i1");
    let delay = fetched.saturating_duration_since(created);
    assert!(delay < PROMPT, "the fetch took {delay:?} to see new work");
    if let Ok(store) = Arc::try_unwrap(store) {
        harness.close(store).await;
    }
}

pub(crate) async fn fetch_activity_wakes_promptly<H: Harness>(harness: &H) {
    let store = Arc::new(dispatcher(harness, StoreConfig::default()).await);
    store.create_instance(new_instance("i1", "e1", json!(null))).await.must("create_instance");
    let item = fetch_orchestration(&*store).await;
    let waiting = Arc::clone(&store);
    let fetch = tokio::spawn(async move {
        let item = waiting.fetch_activity(Duration::from_secs(30)).await;
        (item, Instant::now())
    });
    tokio::task::yield_now().await;
    let commit = OrchestrationCommit {
        activities: vec![activity("i1", "e1", 0, "Hello")],
        ..running("e1", vec![orchestrator_started(1)])
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    let committed = Instant::now();
    let (work, fetched) = tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .must("the fetch returns")
        .must("the fetch task");
    let work = work.must("fetch_activity").must("a work item");
    assert_eq!(work.request.name, "Hello");
    let delay = fetched.saturating_duration_since(committed);
    assert!(delay < PROMPT, "the fetch took {delay:?} to see new work");
    if let Ok(store) = Arc::try_unwrap(store) {
        harness.close(store).await;
    }
}

// ---- several handles on one store ---------------------------------------------------------

pub(crate) async fn durable_across_close_and_reopen<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    store
        .create_queues(&[QueueSpec { name: "Hello".to_owned(), kind: QueueKind::Activity }])
        .await
        .must("create_queues");
    start_with_activities(&store, "i1", 1).await;
    let leased = fetch_activity(&store).await;
    store.create_instance(new_instance("i2", "e1", json!("two"))).await.must("create_instance");
    let locked = fetch_orchestration(&store).await;
    assert_eq!(locked.instance.instance_id, "i2");
    let history = store.get_history("i1", "e1").await.must("get_history");
    assert_eq!(history.len(), 3);
    harness.close(store).await;

    let store = dispatcher(harness, StoreConfig::default()).await;
    let record = store.get_instance("i1").await.must("get_instance").must("i1");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Running);
    assert_eq!(store.get_history("i1", "e1").await.must("get_history"), history);
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats_of(&stats, "Hello", QueueKind::Activity).depth, 1);
    // Leases and locks did not survive: both items are available at once.
    let again = fetch_activity(&store).await;
    assert_eq!(again.request, leased.request);
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.instance.instance_id, "i2");
    assert_eq!(item.messages, locked.messages);
    harness.close(store).await;
}

pub(crate) async fn client_handle_writes_reach_the_dispatcher<H: Harness>(harness: &H) {
    let dispatcher = Arc::new(dispatcher(harness, StoreConfig::default()).await);
    let client = harness.open(StoreConfig::default()).await;
    let error = client
        .fetch_orchestration(SHORT)
        .await
        .err()
        .must("a client that did not acquire dispatch cannot fetch");
    assert!(matches!(error, BackendError::Store { .. }), "{error:?}");

    let waiting = Arc::clone(&dispatcher);
    let fetch = tokio::spawn(async move { waiting.fetch_orchestration(LONG).await });
    tokio::task::yield_now().await;
    client
        .create_instance(new_instance("i1", "e1", json!("from the client")))
        .await
        .must("create_instance on the client");
    let item = tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .must("the dispatcher sees the client's instance")
        .must("the fetch task")
        .must("fetch_orchestration")
        .must("a work item");
    assert_eq!(item.instance.input, json!("from the client"));
    assert_eq!(item.messages.len(), 1);

    // A message sent by the client while the instance is locked is fetched next.
    client
        .send_message(message("i1", task_completed(0, json!("hi"))))
        .await
        .must("send_message on the client");
    dispatcher
        .complete_orchestration(&item.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .must("complete_orchestration");
    let item = fetch_orchestration(&*dispatcher).await;
    assert_eq!(
        events(&item),
        vec![EventKind::TaskCompleted { task_scheduled_id: 0, result: json!("hi") }]
    );
    // The client reads what the dispatcher wrote.
    let record = client.get_instance("i1").await.must("get_instance").must("i1");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Running);
    assert_eq!(client.get_history("i1", "e1").await.must("get_history").len(), 1);
    harness.close(client).await;
    if let Ok(dispatcher) = Arc::try_unwrap(dispatcher) {
        harness.close(dispatcher).await;
    }
}

pub(crate) async fn second_dispatcher_is_refused<H: Harness>(harness: &H) {
    let first = dispatcher(harness, StoreConfig::default()).await;
    let second = harness.open(StoreConfig::default()).await;
    assert!(
        !second.acquire_dispatch().await.must("acquire_dispatch"),
        "a second dispatcher of a single-dispatcher store is refused"
    );
    assert!(first.acquire_dispatch().await.must("acquire_dispatch again"));
    let error = second.fetch_activity(SHORT).await.err().must("a refused handle cannot fetch");
    assert!(matches!(error, BackendError::Store { .. }), "{error:?}");
    harness.close(first).await;
    assert!(
        second.acquire_dispatch().await.must("acquire_dispatch"),
        "dispatch is free once the first dispatcher closed"
    );
    harness.close(second).await;
}
