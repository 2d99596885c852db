//! Cases about instances and orchestration turns.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;

// ---- instances ----------------------------------------------------------------------------

pub(crate) async fn create_and_get_instance<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let input = json!({ "city": "Tokyo", "n": [1, 2, 3] });
    let new = NewInstance { version: "1.0".to_owned(), ..new_instance("i1", "e1", input.clone()) };
    store.create_instance(new).await.must("create_instance");
    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!(record.instance_id, "i1");
    assert_eq!(record.version, "1.0");
    assert_eq!(record.name, "Orchestrator");
    assert_eq!(record.execution_id, "e1");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Pending);
    assert_eq!(record.input, input);
    assert_eq!(record.output, Value::Null);
    assert_eq!(record.custom_status, Value::Null);
    assert_eq!(record.failure, None);
    assert_eq!(record.created_at, at(0));
    assert_eq!(record.last_updated_at, at(0));
    assert!(store.get_instance("nope").await.must("get_instance").is_none());
    assert!(store.get_history("i1", "e1").await.must("get_history").is_empty());
    assert!(store.get_history("nope", "e1").await.must("get_history").is_empty());
    // The ExecutionStarted message waits in the inbox.
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.instance, record);
    assert_eq!(item.history_len, 0);
    assert_eq!(
        events(&item),
        vec![EventKind::ExecutionStarted {
            name: "Orchestrator".to_owned(),
            execution_id: "e1".to_owned(),
            input,
            version: "1.0".to_owned(),
            parent_instance: None,
            trace_context: None,
        }]
    );
    assert_eq!(item.messages[0].execution_id.as_deref(), Some("e1"));
    assert_eq!(item.messages[0].event.timestamp, at(0));
    harness.close(store).await;
}

pub(crate) async fn duplicate_create_while_running_fails<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    store
        .create_queues(&[QueueSpec {
            name: "Orchestrator".to_owned(),
            kind: QueueKind::Orchestrator,
        }])
        .await
        .must("create_queues");
    store.create_instance(new_instance("i1", "e1", json!(1))).await.must("create_instance");
    let error = store
        .create_instance(new_instance("i1", "e2", json!(2)))
        .await
        .err()
        .must("a duplicate create fails");
    assert!(
        matches!(&error, BackendError::InstanceExists { instance_id, status }
            if instance_id == "i1" && *status == OrchestrationRuntimeStatus::Pending),
        "{error:?}"
    );
    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!((record.execution_id.as_str(), record.input), ("e1", json!(1)));
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats_of(&stats, "Orchestrator", QueueKind::Orchestrator).depth, 1);

    // Still refused once it runs.
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.messages.len(), 1);
    store
        .complete_orchestration(&item.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .must("complete_orchestration");
    let error = store
        .create_instance(new_instance("i1", "e3", json!(3)))
        .await
        .err()
        .must("a duplicate create fails");
    assert!(
        matches!(
            error,
            BackendError::InstanceExists { status: OrchestrationRuntimeStatus::Running, .. }
        ),
        "{error:?}"
    );
    assert_no_orchestration(&store).await;
    harness.close(store).await;
}

pub(crate) async fn create_over_finished_instance_replaces_it<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let item = create_and_fetch(&store, new_instance("i1", "e1", json!("first"))).await;
    store
        .complete_orchestration(&item.lock, completed("e1", json!("out")))
        .await
        .must("complete_orchestration");
    // A late message to the finished instance is still delivered…
    store.send_message(message("i1", task_completed(0, json!("late")))).await.must("send_message");
    // …until the instance is replaced, which deletes it with the history.
    let mut replacement = new_instance("i1", "e2", json!("second"));
    replacement.created_at = at(100);
    store.create_instance(replacement).await.must("create_instance over a finished one");
    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!(record.execution_id, "e2");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Pending);
    assert_eq!(record.input, json!("second"));
    assert_eq!(record.output, Value::Null);
    assert_eq!(record.created_at, at(100));
    assert!(store.get_history("i1", "e1").await.must("get_history").is_empty());
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.history_len, 0);
    assert_eq!(item.instance.execution_id, "e2");
    assert_eq!(
        events(&item),
        vec![EventKind::ExecutionStarted {
            name: "Orchestrator".to_owned(),
            execution_id: "e2".to_owned(),
            input: json!("second"),
            version: String::new(),
            parent_instance: None,
            trace_context: None,
        }]
    );
    harness.close(store).await;
}

pub(crate) async fn concurrent_creates_commit_independently<H: Harness>(harness: &H) {
    let store = Arc::new(dispatcher(harness, StoreConfig::default()).await);
    // 200 concurrent creates of 150 distinct ids: the duplicates fail, nothing else does.
    let mut tasks = Vec::new();
    for n in 0..200 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = format!("c{}", n % 150);
            store.create_instance(new_instance(&id, &format!("e{n}"), json!(n))).await
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.must("a create task") {
            Ok(()) => created += 1,
            Err(BackendError::InstanceExists { .. }) => refused += 1,
            Err(error) => panic!("unexpected error: {error}"),
        }
    }
    assert_eq!((created, refused), (150, 50));
    let mut fetched = 0;
    while let Some(item) = store.fetch_orchestration(SHORT).await.must("fetch") {
        assert_eq!(item.messages.len(), 1, "one ExecutionStarted per instance");
        let EventKind::ExecutionStarted { execution_id, .. } = &item.messages[0].event.kind else {
            panic!("expected ExecutionStarted, got {:?}", item.messages[0]);
        };
        assert_eq!(*execution_id, item.instance.execution_id);
        fetched += 1;
    }
    assert_eq!(fetched, 150);
    if let Ok(store) = Arc::try_unwrap(store) {
        harness.close(store).await;
    }
}

// ---- orchestration turns ------------------------------------------------------------------

pub(crate) async fn fetch_returns_messages_in_order_and_locks<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    store.create_instance(new_instance("i1", "e1", json!(null))).await.must("create_instance");
    for n in 0..3 {
        store.send_message(message("i1", task_completed(n, json!(n)))).await.must("send_message");
    }
    let item = fetch_orchestration(&store).await;
    let kinds = events(&item);
    assert_eq!(kinds.len(), 4);
    assert!(matches!(kinds[0], EventKind::ExecutionStarted { .. }));
    for n in 0..3 {
        assert_eq!(
            kinds[n + 1],
            EventKind::TaskCompleted { task_scheduled_id: n as i64, result: json!(n) }
        );
    }
    assert_eq!(item.lock.ids.len(), 4);
    assert!(item.lock.ids.windows(2).all(|w| w[0] < w[1]), "ids in order");
    // Locked: nobody else gets it.
    assert_no_orchestration(&store).await;
    harness.close(store).await;
}

pub(crate) async fn complete_appends_history_across_turns<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let item = create_and_fetch(&store, new_instance("i1", "e1", json!("Tokyo"))).await;
    let turn1 = vec![
        orchestrator_started(1),
        started("e1", json!("Tokyo")),
        scheduled(0, "Hello", json!("Tokyo")),
    ];
    let mut commit = running("e1", turn1.clone());
    commit.custom_status = json!({ "step": 1 });
    commit.activities = vec![activity("i1", "e1", 0, "Hello")];
    store.complete_orchestration(&item.lock, commit).await.must("complete turn 1");
    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Running);
    assert_eq!(record.custom_status, json!({ "step": 1 }));
    assert_eq!(record.output, Value::Null);
    assert!(record.last_updated_at >= record.created_at);
    assert_eq!(store.get_history("i1", "e1").await.must("get_history"), turn1);
    // The consumed ExecutionStarted is gone.
    assert_no_orchestration(&store).await;

    let work = fetch_activity(&store).await;
    assert_eq!(work.request, activity("i1", "e1", 0, "Hello"));
    store
        .complete_activity(&work.lock, message("i1", task_completed(0, json!("Hello Tokyo!"))))
        .await
        .must("complete_activity");

    let item = fetch_orchestration(&store).await;
    assert_eq!(item.history_len, 3);
    assert_eq!(item.instance.runtime_status, OrchestrationRuntimeStatus::Running);
    assert_eq!(item.instance.custom_status, json!({ "step": 1 }));
    assert_eq!(
        events(&item),
        vec![EventKind::TaskCompleted { task_scheduled_id: 0, result: json!("Hello Tokyo!") }]
    );
    let mut turn2 = completed("e1", json!(["Hello Tokyo!"]));
    turn2.new_events.insert(1, task_completed(0, json!("Hello Tokyo!")));
    turn2.custom_status = json!("done");
    let turn2_events = turn2.new_events.clone();
    store.complete_orchestration(&item.lock, turn2).await.must("complete turn 2");
    let history = store.get_history("i1", "e1").await.must("get_history");
    assert_eq!(history, [turn1, turn2_events].concat());
    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Completed);
    assert_eq!(record.output, json!(["Hello Tokyo!"]));
    assert_eq!(record.custom_status, json!("done"));
    assert_no_orchestration(&store).await;
    assert_no_activity(&store).await;
    harness.close(store).await;
}

pub(crate) async fn failed_turn_records_failure<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let item = create_and_fetch(&store, new_instance("i1", "e1", json!(null))).await;
    let mut failure = FailureDetails::new("ActivityError", "boom");
    failure.causes = vec!["disk full".to_owned()];
    let commit = OrchestrationCommit {
        status: OrchestrationRuntimeStatus::Failed,
        failure: Some(failure.clone()),
        ..running("e1", vec![orchestrator_started(1)])
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Failed);
    assert_eq!(record.failure, Some(failure));
    harness.close(store).await;
}

pub(crate) async fn continue_as_new_starts_a_new_execution<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let item = create_and_fetch(&store, new_instance("i1", "e1", json!(1))).await;
    let turn1 = vec![orchestrator_started(1), started("e1", json!(1))];
    let mut restart = message("i1", started("e2", json!(2)));
    restart.execution_id = Some("e2".to_owned());
    let commit = OrchestrationCommit {
        status: OrchestrationRuntimeStatus::ContinuedAsNew,
        messages: vec![restart.clone()],
        ..running("e1", turn1.clone())
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.messages, vec![restart]);
    assert_eq!(item.instance.runtime_status, OrchestrationRuntimeStatus::ContinuedAsNew);
    let turn2 = vec![orchestrator_started(2), started("e2", json!(2))];
    // The store learns the new execution's input and version from the commit, not from the
    // events it stores.
    let new_execution = Some(ExecutionStart { input: json!(2), version: "2.0".to_owned() });
    let commit = OrchestrationCommit { new_execution, ..running("e2", turn2.clone()) };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    let record = store.get_instance("i1").await.must("get_instance").must("the instance");
    assert_eq!(record.execution_id, "e2");
    assert_eq!((record.input, record.version.as_str()), (json!(2), "2.0"));
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Running);
    // The new execution's history replaces the old one's (eternal orchestrations must not
    // grow the store).
    assert_eq!(store.get_history("i1", "e1").await.must("get_history"), Vec::new());
    assert_eq!(store.get_history("i1", "e2").await.must("get_history"), turn2);
    store.send_message(message("i1", task_completed(0, json!(0)))).await.must("send_message");
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.instance.execution_id, "e2");
    assert_eq!(item.history_len, 2);
    harness.close(store).await;
}

pub(crate) async fn messages_arriving_during_a_lock_are_fetched_next<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let item = create_and_fetch(&store, new_instance("i1", "e1", json!(null))).await;
    store
        .send_message(message("i1", task_completed(7, json!("meanwhile"))))
        .await
        .must("send_message");
    assert_no_orchestration(&store).await;
    store
        .complete_orchestration(&item.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .must("complete_orchestration");
    let item = fetch_orchestration(&store).await;
    assert_eq!(
        events(&item),
        vec![EventKind::TaskCompleted { task_scheduled_id: 7, result: json!("meanwhile") }]
    );
    assert_eq!(item.history_len, 1);
    harness.close(store).await;
}

pub(crate) async fn abandon_orchestration_refetches<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    store.create_instance(new_instance("i1", "e1", json!(null))).await.must("create_instance");
    store.send_message(message("i1", task_completed(1, json!(1)))).await.must("send_message");
    let first = fetch_orchestration(&store).await;
    assert_eq!(first.messages.len(), 2);
    store.send_message(message("i1", task_completed(2, json!(2)))).await.must("send_message");
    store.abandon_orchestration(&first.lock).await.must("abandon_orchestration");
    let second = fetch_orchestration(&store).await;
    assert_eq!(second.messages.len(), 3);
    assert_eq!(second.messages[..2], first.messages[..]);
    assert_ne!(second.lock.token, first.lock.token);
    // The old lock is gone.
    let error = store
        .complete_orchestration(&first.lock, running("e1", Vec::new()))
        .await
        .err()
        .must("completing an abandoned lock fails");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    store
        .complete_orchestration(&second.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .must("complete_orchestration");
    assert_no_orchestration(&store).await;
    harness.close(store).await;
}

pub(crate) async fn orchestration_attempts_count_locks_until_a_commit<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let first = create_and_fetch(&store, new_instance("i1", "e1", json!(null))).await;
    assert_eq!(first.attempt, 1, "the first lock is attempt 1");
    store.abandon_orchestration(&first.lock).await.must("abandon_orchestration");
    let second = fetch_orchestration(&store).await;
    assert_eq!(second.attempt, 2, "an abandon counts");
    store.release_orchestration(&second.lock).await.must("release_orchestration");
    let second = fetch_orchestration(&store).await;
    assert_eq!(second.attempt, 2, "a release takes its attempt back");
    store
        .complete_orchestration(&second.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .must("complete_orchestration");
    store.send_message(message("i1", task_completed(1, json!(1)))).await.must("send_message");
    let third = fetch_orchestration(&store).await;
    assert_eq!(third.attempt, 1, "a commit starts the count again");
    store.complete_orchestration(&third.lock, completed("e1", json!("done"))).await.must("commit");

    // A finished instance's late message counts too; an instance created over it starts at 1.
    store.send_message(message("i1", task_completed(2, json!(2)))).await.must("send_message");
    let late = fetch_orchestration(&store).await;
    assert_eq!(late.attempt, 1);
    store.abandon_orchestration(&late.lock).await.must("abandon_orchestration");
    let late = fetch_orchestration(&store).await;
    assert_eq!(late.attempt, 2);
    store.abandon_orchestration(&late.lock).await.must("abandon_orchestration");
    let replaced = create_and_fetch(&store, new_instance("i1", "e2", json!(null))).await;
    assert_eq!((replaced.instance.execution_id.as_str(), replaced.attempt), ("e2", 1));
    // Another instance's count is its own.
    let other = create_and_fetch(&store, new_instance("i2", "e1", json!(null))).await;
    assert_eq!((other.instance.instance_id.as_str(), other.attempt), ("i2", 1));
    harness.close(store).await;
}

pub(crate) async fn orchestration_attempts_survive_a_restart<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let locked = create_and_fetch(&store, new_instance("i1", "e1", json!(null))).await;
    assert_eq!(locked.attempt, 1);
    // The process dies during the turn: nothing abandons the lock, yet the attempt counted.
    harness.close(store).await;

    let store = dispatcher(harness, StoreConfig::default()).await;
    let again = fetch_orchestration(&store).await;
    assert_eq!(again.instance.instance_id, "i1");
    assert_eq!(again.attempt, 2, "the attempt of the turn that died was recorded");
    harness.close(store).await;
}

pub(crate) async fn stale_or_reused_orchestration_lock_is_lost<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    store.create_instance(new_instance("i1", "e1", json!(null))).await.must("create_instance");
    let made_up = WorkItemLock { token: u64::MAX, ids: vec![1] };
    let error = store
        .complete_orchestration(&made_up, running("e1", vec![orchestrator_started(1)]))
        .await
        .err()
        .must("completing an unknown lock fails");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    assert!(store.get_history("i1", "e1").await.must("get_history").is_empty());
    let item = fetch_orchestration(&store).await;
    store
        .complete_orchestration(&item.lock, running("e1", vec![orchestrator_started(1)]))
        .await
        .must("complete_orchestration");
    let error = store
        .complete_orchestration(&item.lock, running("e1", vec![orchestrator_started(2)]))
        .await
        .err()
        .must("completing twice fails");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    assert_eq!(store.get_history("i1", "e1").await.must("get_history").len(), 1);
    let error = store
        .abandon_orchestration(&item.lock)
        .await
        .err()
        .must("abandoning a released lock fails");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    harness.close(store).await;
}

pub(crate) async fn messages_to_unknown_instances_are_dropped<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let item = create_and_fetch(&store, new_instance("i1", "e1", json!(null))).await;
    let commit = OrchestrationCommit {
        messages: vec![
            message("ghost", task_completed(0, json!(0))),
            message("i1", task_completed(1, json!(1))),
        ],
        ..running("e1", vec![orchestrator_started(1)])
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.instance.instance_id, "i1");
    assert_eq!(item.messages.len(), 1);
    assert!(store.get_instance("ghost").await.must("get_instance").is_none());
    store.abandon_orchestration(&item.lock).await.must("abandon");
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.instance.instance_id, "i1");
    assert_no_orchestration(&store).await;
    harness.close(store).await;
}

pub(crate) async fn send_message_to_unknown_instance_fails<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let error = store
        .send_message(message("ghost", task_completed(0, json!(0))))
        .await
        .err()
        .must("sending to an unknown instance fails");
    assert!(
        matches!(&error, BackendError::InstanceNotFound { instance_id } if instance_id == "ghost"),
        "{error:?}"
    );
    assert_no_orchestration(&store).await;
    harness.close(store).await;
}

pub(crate) async fn commit_starts_sub_orchestrations<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    store.create_instance(new_instance("busy", "b1", json!(null))).await.must("create_instance");
    let busy = fetch_orchestration(&store).await;
    let item = create_and_fetch(&store, new_instance("parent", "p1", json!(null))).await;
    let child = |id: &str, execution_id: &str| NewInstance {
        parent: Some(ParentInstance {
            name: "Orchestrator".to_owned(),
            instance_id: "parent".to_owned(),
            execution_id: "p1".to_owned(),
            task_scheduled_id: 0,
        }),
        ..new_instance(id, execution_id, json!({ "child": id }))
    };
    let refused = |id: i64| message("parent", task_completed(id, json!("refused")));
    let commit = OrchestrationCommit {
        sub_orchestrations: vec![
            SubOrchestrationStart { instance: child("child", "c1"), if_exists: refused(0) },
            SubOrchestrationStart { instance: child("busy", "b2"), if_exists: refused(1) },
        ],
        ..running("p1", vec![orchestrator_started(1), started("p1", json!(null))])
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");

    // The new child exists, with its `ExecutionStarted` (naming its parent) queued.
    let record = store.get_instance("child").await.must("get_instance").must("the child");
    assert_eq!(record.runtime_status, OrchestrationRuntimeStatus::Pending);
    assert_eq!(record.input, json!({ "child": "child" }));
    let child_item = fetch_orchestration(&store).await;
    assert_eq!(child_item.instance.instance_id, "child");
    assert_eq!(child_item.messages.len(), 1);
    assert!(matches!(
        &child_item.messages[0].event.kind,
        EventKind::ExecutionStarted { parent_instance: Some(p), .. } if p.instance_id == "parent"
    ));
    // The busy id was left alone and the parent got the refusal instead.
    let record = store.get_instance("busy").await.must("get_instance").must("the busy instance");
    assert_eq!(record.execution_id, "b1");
    store.abandon_orchestration(&busy.lock).await.must("abandon_orchestration");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let next = fetch_orchestration(&store).await;
        seen.push((next.instance.instance_id.clone(), next.messages.clone()));
    }
    let parent_messages = seen
        .iter()
        .find(|(id, _)| id == "parent")
        .map(|(_, messages)| messages.clone())
        .must("a work item for the parent");
    assert_eq!(parent_messages, vec![refused(1)]);
    harness.close(store).await;
}

pub(crate) async fn a_start_whose_notice_is_for_the_target_delivers_it_there<H: Harness>(
    harness: &H,
) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    store.create_instance(new_instance("target", "t1", json!(null))).await.must("create_instance");
    let target = fetch_orchestration(&store).await;
    store
        .complete_orchestration(
            &target.lock,
            running("t1", vec![orchestrator_started(1), started("t1", json!(null))]),
        )
        .await
        .must("complete_orchestration");
    let item = create_and_fetch(&store, new_instance("sender", "s1", json!(null))).await;
    // What an entity signal is: create the target with the message, or give it the message.
    let note = message("target", task_completed(7, json!("for the target")));
    let commit = OrchestrationCommit {
        sub_orchestrations: vec![SubOrchestrationStart {
            instance: new_instance("target", "t2", json!("a fresh one")),
            if_exists: note.clone(),
        }],
        ..running("s1", vec![orchestrator_started(1), started("s1", json!(null))])
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    let record = store.get_instance("target").await.must("get_instance").must("the target");
    assert_eq!(record.execution_id, "t1", "the running target was kept");
    let next = fetch_orchestration(&store).await;
    assert_eq!(next.instance.instance_id, "target");
    assert_eq!(next.messages, vec![note]);
    harness.close(store).await;
}

pub(crate) async fn first_turn_starts_sub_orchestrations<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let first_turn = OrchestrationCommit {
        sub_orchestrations: vec![SubOrchestrationStart {
            instance: new_instance("child", "c1", json!("from the first turn")),
            if_exists: message("parent", task_completed(0, json!("refused"))),
        }],
        ..running("p1", vec![started("p1", json!(null)), orchestrator_started(1)])
    };
    store
        .create_instance_with_turn(new_instance("parent", "p1", json!(null)), first_turn)
        .await
        .must("create_instance_with_turn");
    let record = store.get_instance("child").await.must("get_instance").must("the child");
    assert_eq!(record.input, json!("from the first turn"));
    let child_item = fetch_orchestration(&store).await;
    assert_eq!(child_item.instance.instance_id, "child");
    assert!(matches!(&child_item.messages[0].event.kind, EventKind::ExecutionStarted { .. }));
    harness.close(store).await;
}

pub(crate) async fn commit_can_replace_the_history<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    let item = create_and_fetch(&store, new_instance("i1", "e1", json!(null))).await;
    let turn1 =
        vec![orchestrator_started(1), started("e1", json!(null)), scheduled(0, "A", json!(1))];
    store
        .complete_orchestration(&item.lock, running("e1", turn1.clone()))
        .await
        .must("complete_orchestration");
    store.send_message(message("i1", task_completed(0, json!("a")))).await.must("send_message");
    let item = fetch_orchestration(&store).await;
    // A rewrite drops the first turn's scheduling event and keeps the rest.
    let rewritten = vec![orchestrator_started(1), started("e1", json!(null))];
    let commit = OrchestrationCommit { replace_history: true, ..running("e1", rewritten.clone()) };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    assert_eq!(store.get_history("i1", "e1").await.must("get_history"), rewritten);
    // Later turns append to the rewritten history.
    store.send_message(message("i1", task_completed(0, json!("b")))).await.must("send_message");
    let item = fetch_orchestration(&store).await;
    assert_eq!(item.history_len, 2);
    let next = vec![orchestrator_started(4)];
    store
        .complete_orchestration(&item.lock, running("e1", next.clone()))
        .await
        .must("complete_orchestration");
    let history = store.get_history("i1", "e1").await.must("get_history");
    assert_eq!(history, [rewritten, next].concat());
    harness.close(store).await;
}
