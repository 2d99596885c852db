//! Instance listings (filters, stable paging, continuation tokens) and purges (what they
//! delete, what they refuse, and that a purged id is free again).

use std::collections::HashSet;

use futures::future::join_all;
use serde_json::json;

use super::*;
use crate::backend::{InstanceKind, InstancePage, InstanceQuery, PurgeFilter};
use crate::history::OrchestrationRuntimeStatus::{Completed, Failed, Pending, Running, Terminated};

/// Creates `instance_id`, created `seconds` after [`at`]'s origin, with `status`: a pending
/// instance is only created (its `ExecutionStarted` stays queued); any other has its first
/// turn committed with it.
async fn seed(
    store: &impl Backend,
    instance_id: &str,
    seconds: i64,
    status: OrchestrationRuntimeStatus,
) {
    let input = json!({ "id": instance_id });
    let new =
        NewInstance { created_at: at(seconds), ..new_instance(instance_id, "e1", input.clone()) };
    if status == Pending {
        store.create_instance(new).await.must("create_instance");
        return;
    }
    let mut turn = OrchestrationCommit {
        status,
        ..running("e1", vec![orchestrator_started(1), started("e1", input)])
    };
    if status.is_terminal() {
        turn.output = json!(format!("{instance_id} done"));
    }
    if status == Failed {
        turn.failure = Some(FailureDetails::new("Boom", "it broke"));
    }
    store.create_instance_with_turn(new, turn).await.must("create_instance_with_turn");
}

async fn list(store: &impl Backend, query: &InstanceQuery) -> InstancePage {
    store.list_instances(query).await.must("list_instances")
}

fn ids(page: &InstancePage) -> Vec<&str> {
    page.instances.iter().map(|r| r.instance_id.as_str()).collect()
}

/// The ids of every instance matching `query`, following continuation tokens.
async fn list_all(store: &impl Backend, mut query: InstanceQuery) -> Vec<String> {
    let mut all = Vec::new();
    loop {
        let page = list(store, &query).await;
        all.extend(page.instances.iter().map(|r| r.instance_id.clone()));
        match page.continuation_token {
            Some(token) => query.continuation_token = Some(token),
            None => return all,
        }
    }
}

fn statuses(runtime_status: &[OrchestrationRuntimeStatus]) -> InstanceQuery {
    InstanceQuery { runtime_status: runtime_status.to_vec(), ..InstanceQuery::default() }
}

pub(crate) async fn list_instances_filters_alone_and_combined<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    seed(&store, "order-1", 10, Completed).await;
    seed(&store, "order-2", 20, Running).await;
    seed(&store, "order-3", 30, Failed).await;
    seed(&store, "batch-1", 20, Completed).await;
    seed(&store, "batch-2", 40, Terminated).await;
    seed(&store, "order-4", 50, Pending).await;
    let everything = ["order-1", "batch-1", "order-2", "order-3", "batch-2", "order-4"];

    // No filter: all of them, by creation time then id, each decoded as `get_instance` does.
    let page = list(&store, &InstanceQuery::default()).await;
    assert_eq!(ids(&page), everything);
    assert_eq!(page.continuation_token, None);
    for record in &page.instances {
        let stored = store
            .get_instance(&record.instance_id)
            .await
            .must("get_instance")
            .must("the listed instance");
        assert_eq!(*record, stored);
    }

    let cases: Vec<(&str, InstanceQuery, Vec<&str>)> = vec![
        ("one status", statuses(&[Completed]), vec!["order-1", "batch-1"]),
        ("two statuses", statuses(&[Running, Pending]), vec!["order-2", "order-4"]),
        (
            "created from, inclusive",
            InstanceQuery { created_from: Some(at(20)), ..InstanceQuery::default() },
            vec!["batch-1", "order-2", "order-3", "batch-2", "order-4"],
        ),
        (
            "created from, a nanosecond later",
            InstanceQuery {
                created_from: Some(at(20) + chrono::Duration::nanoseconds(1)),
                ..InstanceQuery::default()
            },
            vec!["order-3", "batch-2", "order-4"],
        ),
        (
            "created to, inclusive",
            InstanceQuery { created_to: Some(at(30)), ..InstanceQuery::default() },
            vec!["order-1", "batch-1", "order-2", "order-3"],
        ),
        (
            "created range",
            InstanceQuery {
                created_from: Some(at(20)),
                created_to: Some(at(40)),
                ..InstanceQuery::default()
            },
            vec!["batch-1", "order-2", "order-3", "batch-2"],
        ),
        (
            "empty range",
            InstanceQuery {
                created_from: Some(at(40)),
                created_to: Some(at(20)),
                ..InstanceQuery::default()
            },
            vec![],
        ),
        (
            "prefix",
            InstanceQuery {
                instance_id_prefix: Some("order-".to_owned()),
                ..InstanceQuery::default()
            },
            vec!["order-1", "order-2", "order-3", "order-4"],
        ),
        (
            "prefix is case-sensitive",
            InstanceQuery {
                instance_id_prefix: Some("Order-".to_owned()),
                ..InstanceQuery::default()
            },
            vec![],
        ),
        (
            "empty prefix",
            InstanceQuery { instance_id_prefix: Some(String::new()), ..InstanceQuery::default() },
            everything.to_vec(),
        ),
        (
            "prefix, statuses and time",
            InstanceQuery {
                runtime_status: vec![Completed, Failed],
                created_from: Some(at(15)),
                instance_id_prefix: Some("order-".to_owned()),
                ..InstanceQuery::default()
            },
            vec!["order-3"],
        ),
    ];
    for (what, query, expected) in cases {
        let page = list(&store, &query).await;
        assert_eq!(ids(&page), expected, "{what}");
        assert_eq!(page.continuation_token, None, "{what}");
    }
    harness.close(store).await;
}

pub(crate) async fn list_instances_pages_each_instance_exactly_once<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    // Creation times repeat (ties are broken by id) and do not follow id order.
    let originals: Vec<String> = (0..250).map(|i| format!("p-{i:03}")).collect();
    let seeded = originals
        .iter()
        .enumerate()
        .map(|(i, id)| seed(&store, id, (i as i64 * 7) % 25, Completed));
    join_all(seeded).await;

    let mut query = InstanceQuery { page_size: 100, ..InstanceQuery::default() };
    let mut seen: Vec<String> = Vec::new();
    let mut keys = Vec::new();
    let mut pages = 0;
    loop {
        let page = list(&store, &query).await;
        pages += 1;
        assert!(page.instances.len() <= 100, "a page holds at most its size");
        for record in &page.instances {
            seen.push(record.instance_id.clone());
            keys.push((record.created_at, record.instance_id.clone()));
        }
        // Instances created between pages sort after everything listed so far.
        seed(&store, &format!("new-{pages}"), 1_000 + pages, Completed).await;
        match page.continuation_token {
            Some(token) => query.continuation_token = Some(token),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "no instance is listed twice");
    for id in &originals {
        assert!(distinct.contains(id), "{id} was skipped");
    }
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "listed in key order");
    assert_eq!(seen.len(), 252, "the instances created before the last page are listed");

    // A page that ends exactly at the last match carries no token.
    let exactly = InstanceQuery {
        instance_id_prefix: Some("p-0".to_owned()),
        page_size: 100,
        ..InstanceQuery::default()
    };
    let page = list(&store, &exactly).await;
    assert_eq!((page.instances.len(), page.continuation_token), (100, None));
    let halves = list_all(&store, InstanceQuery { page_size: 50, ..exactly }).await;
    assert_eq!(halves.len(), 100);
    harness.close(store).await;
}

pub(crate) async fn list_instances_rejects_bad_tokens_and_page_sizes<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    for id in ["a", "b", "c"] {
        seed(&store, id, 0, Completed).await;
    }
    for token in ["garbage", "v1.zz", "v1.5b5d", ""] {
        let error = store
            .list_instances(&InstanceQuery {
                continuation_token: Some(token.to_owned()),
                ..InstanceQuery::default()
            })
            .await
            .err()
            .must("a malformed token is refused");
        assert!(
            matches!(&error, BackendError::InvalidQuery { message } if message.contains("continuation token")),
            "{token:?}: {error:?}"
        );
    }
    let error = store
        .list_instances(&InstanceQuery { page_size: 0, ..InstanceQuery::default() })
        .await
        .err()
        .must("a page size of 0 is refused");
    assert!(matches!(error, BackendError::InvalidQuery { .. }), "{error:?}");

    // A token stays valid when the instance it points after is purged meanwhile.
    let first = list(&store, &InstanceQuery { page_size: 2, ..InstanceQuery::default() }).await;
    assert_eq!(ids(&first), ["a", "b"]);
    let purged =
        store.purge_instances(&PurgeFilter::Instance("b".to_owned())).await.must("purge_instances");
    assert_eq!(purged, 1);
    let next = list(
        &store,
        &InstanceQuery {
            page_size: 2,
            continuation_token: first.continuation_token,
            ..InstanceQuery::default()
        },
    )
    .await;
    assert_eq!(ids(&next), ["c"]);
    assert_eq!(next.continuation_token, None);
    harness.close(store).await;
}

pub(crate) async fn purge_instance_deletes_every_execution_and_its_queued_work<H: Harness>(
    harness: &H,
) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    store
        .create_queues(&[
            QueueSpec { name: "Orchestrator".to_owned(), kind: QueueKind::Orchestrator },
            QueueSpec { name: "Hello".to_owned(), kind: QueueKind::Activity },
        ])
        .await
        .must("create_queues");
    seed(&store, "other", 0, Completed).await;
    // Execution e1 schedules two activities, then continues as new.
    start_with_activities(&store, "i1", 2).await;
    let locked = store
        .try_lock_orchestration("i1")
        .await
        .must("try_lock_orchestration")
        .must("the idle instance");
    let mut restart = message("i1", started("e2", json!(2)));
    restart.execution_id = Some("e2".to_owned());
    let commit = OrchestrationCommit {
        status: OrchestrationRuntimeStatus::ContinuedAsNew,
        messages: vec![restart],
        ..running("e1", vec![orchestrator_started(2)])
    };
    store.complete_orchestration(&locked.lock, commit).await.must("complete_orchestration");
    // Execution e2 is terminated with a timer still pending.
    let item = fetch_orchestration(&store).await;
    let mut timer = message("i1", orchestrator_started(9));
    timer.visible_at = Some(Utc::now() + chrono::Duration::hours(1));
    let commit = OrchestrationCommit {
        status: Terminated,
        messages: vec![timer],
        ..running("e2", vec![orchestrator_started(3), started("e2", json!(2))])
    };
    store.complete_orchestration(&item.lock, commit).await.must("complete_orchestration");
    // A late event, and one of the activities leased to a worker.
    store.send_message(message("i1", task_completed(0, json!("late")))).await.must("send_message");
    let leased = fetch_activity(&store).await;
    assert!(!store.get_history("i1", "e2").await.must("get_history").is_empty());
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats_of(&stats, "Orchestrator", QueueKind::Orchestrator).depth, 2);
    assert_eq!(stats_of(&stats, "Hello", QueueKind::Activity).depth, 2);

    let deleted = store
        .purge_instances(&PurgeFilter::Instance("i1".to_owned()))
        .await
        .must("purge_instances");
    assert_eq!(deleted, 1);
    assert!(store.get_instance("i1").await.must("get_instance").is_none());
    for execution in ["e1", "e2"] {
        assert!(
            store.get_history("i1", execution).await.must("get_history").is_empty(),
            "history of {execution} is gone"
        );
    }
    let stats = store.queue_stats().await.must("queue_stats");
    assert_eq!(stats_of(&stats, "Orchestrator", QueueKind::Orchestrator).depth, 0);
    assert_eq!(stats_of(&stats, "Hello", QueueKind::Activity).depth, 0);
    assert_no_orchestration(&store).await;
    assert_no_activity(&store).await;
    let error = store
        .complete_activity(&leased.lock, message("i1", task_completed(0, json!(0))))
        .await
        .err()
        .must("the lease on a purged instance's work item is lost");
    assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");

    // Other instances stay; a second purge finds nothing.
    assert_eq!(list_all(&store, InstanceQuery::default()).await, ["other"]);
    let again = store
        .purge_instances(&PurgeFilter::Instance("i1".to_owned()))
        .await
        .must("purge_instances of an unknown id");
    assert_eq!(again, 0);
    harness.close(store).await;
}

pub(crate) async fn purging_everything_empties_the_hub<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    start_with_activities(&store, "running", 2).await;
    let leased = fetch_activity(&store).await;
    seed(&store, "pending", 10, Pending).await;
    seed(&store, "done", 20, Completed).await;
    seed(&store, "@counter@a", 30, Running).await;
    let deleted = store.purge_instances(&PurgeFilter::Everything).await.must("purge everything");
    assert_eq!(deleted, 4);
    for id in ["running", "pending", "done", "@counter@a"] {
        assert!(store.get_instance(id).await.must("get_instance").is_none(), "{id} is gone");
    }
    assert!(store.get_history("running", "e1").await.must("get_history").is_empty());
    assert_no_orchestration(&store).await;
    assert_no_activity(&store).await;
    let late =
        store.complete_activity(&leased.lock, message("running", task_completed(0, json!(1))));
    assert!(late.await.is_err(), "a lease on a deleted instance is lost");
    assert!(store.count_instances().await.must("count_instances").is_empty());
    // The hub is still usable.
    let again = create_and_fetch(&store, new_instance("running", "e2", json!(null))).await;
    assert_eq!(again.instance.execution_id, "e2");
    harness.close(store).await;
}

pub(crate) async fn purge_refuses_unfinished_instances_and_changes_nothing<H: Harness>(
    harness: &H,
) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    start_with_activities(&store, "running", 1).await;
    seed(&store, "pending", 10, Pending).await;
    seed(&store, "done", 20, Completed).await;
    let history = store.get_history("running", "e1").await.must("get_history");

    for (id, status) in [("running", Running), ("pending", Pending)] {
        let error = store
            .purge_instances(&PurgeFilter::Instance(id.to_owned()))
            .await
            .err()
            .must("purging an unfinished instance is refused");
        assert!(
            matches!(&error, BackendError::InstanceNotFinished { instance_id, status: s } if instance_id == id && *s == status),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(id) && message.contains(status.as_str()), "{message}");
    }
    for named in [Running, Pending, OrchestrationRuntimeStatus::Suspended] {
        let error = store
            .purge_instances(&PurgeFilter::Created {
                created_from: None,
                created_to: None,
                runtime_status: vec![Completed, named],
                finished_before: None,
                limit: None,
            })
            .await
            .err()
            .must("a purge filter naming an unfinished status is refused");
        assert!(
            matches!(&error, BackendError::InvalidQuery { message } if message.contains(named.as_str())),
            "{error:?}"
        );
    }
    // Nothing changed.
    assert_eq!(
        list_all(&store, InstanceQuery::default()).await,
        ["running", "pending", "done"].map(String::from)
    );
    let record =
        store.get_instance("running").await.must("get_instance").must("the running instance");
    assert_eq!(record.runtime_status, Running);
    assert_eq!(store.get_history("running", "e1").await.must("get_history"), history);
    assert_eq!(fetch_activity(&store).await.request.instance_id, "running");
    assert_eq!(fetch_orchestration(&store).await.instance.instance_id, "pending");

    // A purge by filter skips them.
    let deleted = store
        .purge_instances(&PurgeFilter::Created {
            created_from: None,
            created_to: None,
            runtime_status: Vec::new(),
            finished_before: None,
            limit: None,
        })
        .await
        .must("purge_instances");
    assert_eq!(deleted, 1);
    assert_eq!(
        list_all(&store, InstanceQuery::default()).await,
        ["running", "pending"].map(String::from)
    );
    harness.close(store).await;
}

pub(crate) async fn purge_by_filter_deletes_matching_finished_instances<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    seed(&store, "a", 10, Completed).await;
    seed(&store, "b", 20, Failed).await;
    seed(&store, "c", 30, Terminated).await;
    seed(&store, "d", 40, Completed).await;
    seed(&store, "e", 20, Running).await;
    seed(&store, "f", 50, Completed).await;

    let deleted = store
        .purge_instances(&PurgeFilter::Created {
            created_from: Some(at(20)),
            created_to: Some(at(40)),
            runtime_status: vec![Completed, Failed, Completed],
            finished_before: None,
            limit: None,
        })
        .await
        .must("purge_instances");
    assert_eq!(deleted, 2, "b and d: in the range, with a named status");
    assert_eq!(
        list_all(&store, InstanceQuery::default()).await,
        ["a", "e", "c", "f"].map(String::from)
    );
    for id in ["b", "d"] {
        assert!(store.get_history(id, "e1").await.must("get_history").is_empty());
    }

    let deleted = store
        .purge_instances(&PurgeFilter::Created {
            created_from: Some(at(15)),
            created_to: None,
            runtime_status: Vec::new(),
            finished_before: None,
            limit: None,
        })
        .await
        .must("purge_instances");
    assert_eq!(deleted, 2, "c and f: every finished status from 15 on");
    assert_eq!(list_all(&store, InstanceQuery::default()).await, ["a", "e"].map(String::from));
    let none = store
        .purge_instances(&PurgeFilter::Created {
            created_from: Some(at(100)),
            created_to: None,
            runtime_status: Vec::new(),
            finished_before: None,
            limit: None,
        })
        .await
        .must("purge_instances");
    assert_eq!(none, 0);
    harness.close(store).await;
}

pub(crate) async fn purged_id_can_be_created_again<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    seed(&store, "i1", 0, Completed).await;
    let deleted = store
        .purge_instances(&PurgeFilter::Instance("i1".to_owned()))
        .await
        .must("purge_instances");
    assert_eq!(deleted, 1);
    let item = create_and_fetch(&store, new_instance("i1", "e2", json!("again"))).await;
    assert_eq!(item.instance.execution_id, "e2");
    assert_eq!(item.instance.runtime_status, Pending);
    assert_eq!(item.history_len, 0);
    assert!(matches!(
        events(&item).as_slice(),
        [EventKind::ExecutionStarted { execution_id, .. }] if execution_id == "e2"
    ));
    store
        .complete_orchestration(&item.lock, completed("e2", json!("second")))
        .await
        .must("complete_orchestration");
    let record = store.get_instance("i1").await.must("get_instance").must("the new instance");
    assert_eq!((record.runtime_status, record.output), (Completed, json!("second")));
    assert!(store.get_history("i1", "e1").await.must("get_history").is_empty());
    harness.close(store).await;
}

pub(crate) async fn purge_by_another_handle_leaves_the_dispatcher_nothing_stale<H: Harness>(
    harness: &H,
) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    // A finished instance with a leftover activity, and a message that arrived during its
    // last turn (so the dispatcher holds its final record and a pending turn).
    start_with_activities(&store, "i1", 1).await;
    let locked = store
        .try_lock_orchestration("i1")
        .await
        .must("try_lock_orchestration")
        .must("the idle instance");
    store.send_message(message("i1", task_completed(0, json!("late")))).await.must("send_message");
    store
        .complete_orchestration(&locked.lock, completed("e1", json!("done")))
        .await
        .must("complete_orchestration");

    let client = harness.open(StoreConfig::default()).await;
    let deleted = client
        .purge_instances(&PurgeFilter::Instance("i1".to_owned()))
        .await
        .must("purge_instances on the client");
    assert_eq!(deleted, 1);

    // The dispatcher hands out no turn of the purged instance and forgets it.
    assert_no_orchestration(&store).await;
    assert!(store.get_instance("i1").await.must("get_instance").is_none());
    // Its leftover activity may still be handed out, but its result is not stored.
    if let Some(item) = store.fetch_activity(SHORT).await.must("fetch_activity") {
        let error = store
            .complete_activity(&item.lock, message("i1", task_completed(0, json!(0))))
            .await
            .err()
            .must("the result for a purged instance is refused");
        assert!(matches!(error, BackendError::LockLost { .. }), "{error:?}");
    }
    // The id is free again, and the dispatcher runs the new instance.
    client
        .create_instance(new_instance("i1", "e2", json!("again")))
        .await
        .must("create_instance on the client");
    let item = fetch_orchestration(&store).await;
    assert_eq!((item.instance.execution_id.as_str(), item.history_len), ("e2", 0));
    harness.close(client).await;
    harness.close(store).await;
}

pub(crate) async fn list_instances_by_kind_and_update_time<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    seed(&store, "order-1", 10, Completed).await;
    seed(&store, "@counter@a", 20, Running).await;
    seed(&store, "order-2", 30, Running).await;
    seed(&store, "@counter@b", 40, Pending).await;
    seed(&store, "@account@a", 50, Running).await;

    let mut counts = store.count_instances().await.must("count_instances");
    counts.sort_by_key(|(status, _)| status.as_str());
    assert_eq!(counts, [(Completed, 1), (Running, 1)], "entities are not counted");

    let kind = |kind| InstanceQuery { kind, ..InstanceQuery::default() };
    let all = list_all(&store, kind(InstanceKind::All)).await;
    assert_eq!(all, ["order-1", "@counter@a", "order-2", "@counter@b", "@account@a"]);
    let orchestrations = list_all(&store, kind(InstanceKind::Orchestrations)).await;
    assert_eq!(orchestrations, ["order-1", "order-2"]);
    let entities = list_all(&store, kind(InstanceKind::Entities)).await;
    assert_eq!(entities, ["@counter@a", "@counter@b", "@account@a"]);
    // Paged one by one, with a prefix naming one entity function.
    let counters = InstanceQuery {
        instance_id_prefix: Some("@counter@".to_owned()),
        page_size: 1,
        ..kind(InstanceKind::Entities)
    };
    assert_eq!(list_all(&store, counters).await, ["@counter@a", "@counter@b"]);

    // The update-time range, both ends inclusive, on the times the store recorded.
    let mut updated = Vec::new();
    for id in &all {
        let record = store.get_instance(id).await.must("get_instance").must("a seeded instance");
        updated.push((record.last_updated_at, id.clone()));
    }
    updated.sort();
    let (from, to) = (updated[1].0, updated[3].0);
    let range =
        InstanceQuery { updated_from: Some(from), updated_to: Some(to), ..kind(InstanceKind::All) };
    let mut in_range = list_all(&store, range).await;
    in_range.sort();
    let mut want: Vec<String> = updated
        .iter()
        .filter(|(time, _)| *time >= from && *time <= to)
        .map(|(_, id)| id.clone())
        .collect();
    want.sort();
    assert_eq!(in_range, want);
    assert!(want.len() >= 3, "at least the 2nd, 3rd and 4th updated: {want:?}");
    let after_all =
        InstanceQuery { updated_from: Some(at(1_000_000_000)), ..kind(InstanceKind::Entities) };
    assert!(list_all(&store, after_all).await.is_empty());
    harness.close(store).await;
}

pub(crate) async fn purge_by_filter_takes_a_limit_and_a_finish_time<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    for (i, id) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
        seed(&store, id, i as i64, Completed).await;
    }
    let filter = |finished_before, limit| PurgeFilter::Created {
        created_from: None,
        created_to: None,
        runtime_status: Vec::new(),
        finished_before,
        limit,
    };
    // They finished now, long after `at(0)`.
    let none = store.purge_instances(&filter(Some(at(0)), None)).await.must("purge_instances");
    assert_eq!(none, 0);
    let later = Some(Utc::now() + chrono::Duration::days(1));
    let two = store.purge_instances(&filter(later, Some(2))).await.must("purge_instances");
    assert_eq!(two, 2);
    assert_eq!(list_all(&store, InstanceQuery::default()).await.len(), 3);
    let rest = store.purge_instances(&filter(later, None)).await.must("purge_instances");
    assert_eq!(rest, 3);
    assert!(list_all(&store, InstanceQuery::default()).await.is_empty());
    harness.close(store).await;
}

pub(crate) async fn purges_keep_entities_apart_and_delete_only_idle_ones<H: Harness>(harness: &H) {
    let store = dispatcher(harness, StoreConfig::default()).await;
    seed(&store, "done", 10, Completed).await;
    seed(&store, "@counter@finished", 20, Completed).await;
    seed(&store, "@counter@quiet", 30, Running).await;
    seed(&store, "@counter@busy", 40, Running).await;

    // A purge by filter deletes orchestrations only.
    let deleted = store
        .purge_instances(&PurgeFilter::Created {
            created_from: None,
            created_to: None,
            runtime_status: Vec::new(),
            finished_before: None,
            limit: None,
        })
        .await
        .must("purge_instances");
    assert_eq!(deleted, 1, "only `done`");
    assert_eq!(
        list_all(&store, InstanceQuery::default()).await,
        ["@counter@finished", "@counter@quiet", "@counter@busy"].map(String::from)
    );

    let idle = |id: &str, execution: &str| PurgeFilter::IdleEntity {
        instance_id: id.to_owned(),
        execution_id: execution.to_owned(),
    };
    // Not when a turn committed since (another execution), nor with a message waiting.
    let purged = store.purge_instances(&idle("@counter@quiet", "e0")).await.must("purge");
    assert_eq!(purged, 0);
    store
        .send_message(message("@counter@busy", task_completed(0, json!(1))))
        .await
        .must("send_message");
    let purged = store.purge_instances(&idle("@counter@busy", "e1")).await.must("purge");
    assert_eq!(purged, 0);
    assert_eq!(store.purge_instances(&idle("@counter@none", "e1")).await.must("purge"), 0);
    // An idle one goes, although it is running, with its history.
    let purged = store.purge_instances(&idle("@counter@quiet", "e1")).await.must("purge");
    assert_eq!(purged, 1);
    assert!(store.get_instance("@counter@quiet").await.must("get_instance").is_none());
    assert!(store.get_history("@counter@quiet", "e1").await.must("get_history").is_empty());
    assert_eq!(
        list_all(&store, InstanceQuery::default()).await,
        ["@counter@finished", "@counter@busy"].map(String::from)
    );
    // The busy one still gets its message.
    assert_eq!(fetch_orchestration(&store).await.instance.instance_id, "@counter@busy");
    harness.close(store).await;
}
