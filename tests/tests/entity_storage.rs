//! Entities in the store as the client lists and cleans them (`ListEntitiesAsync`,
//! `CleanEntityStorageAsync`), and kept out of orchestration listings and purges.

use std::time::Duration;

use chrono::Utc;
use durable::OrchestrationRuntimeStatus::Completed;
use durable::backend::{Backend, SqliteBackend, SqliteOptions};
use durable::entity::{EntityMessage, LockRequest};
use durable::prelude::*;
use durable::{EntityId, EntityQuery, OrchestrationStatusQueryCondition};
use durable_tests::{start_app, wait_for};
use serde_json::json;

// The samples' registrations: the Counter and E1_HelloSequence.
use durable_examples as _;

const DEADLINE: Duration = Duration::from_secs(30);

fn counter(key: &str) -> EntityId {
    EntityId::new("Counter", key).unwrap()
}

/// Locks the Counter named by its input and waits for an event it never gets.
#[orchestration_trigger(name = "EntityStorage_HoldLock")]
async fn hold_lock(ctx: DurableOrchestrationContext, key: String) -> Result<(), FunctionFailed> {
    let id = EntityId::new("Counter", key)?;
    let _guard = ctx.lock(std::slice::from_ref(&id)).await?;
    ctx.wait_for_external_event::<()>("never").await
}

async fn state_of(client: &DurableOrchestrationClient, key: &str) -> Option<i32> {
    client.read_entity_state::<i32>(&counter(key)).await.unwrap().entity_state
}

async fn wait_for_state(client: &DurableOrchestrationClient, key: &str, want: Option<i32>) {
    wait_for(&format!("counter {key} to be {want:?}"), DEADLINE, || async {
        (state_of(client, key).await == want).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchestration_listings_and_purges_leave_entities_out() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    client.signal_entity(&counter("kept"), "add", 2).await.unwrap();
    let hello = client.start_new("E1_HelloSequence", Some("hello"), ()).await.unwrap();
    client.wait_for_completion(&hello, DEADLINE).await.unwrap();
    wait_for_state(&client, "kept", Some(2)).await;

    let listed =
        client.list_instances(&OrchestrationStatusQueryCondition::default()).await.unwrap();
    let ids: Vec<&str> =
        listed.durable_orchestration_state.iter().map(|s| s.instance_id.as_str()).collect();
    assert_eq!(ids, ["hello"]);
    // Not even with the entity's own prefix.
    let prefixed = OrchestrationStatusQueryCondition {
        instance_id_prefix: Some("@counter@".to_owned()),
        ..OrchestrationStatusQueryCondition::default()
    };
    let listed = client.list_instances(&prefixed).await.unwrap();
    assert!(listed.durable_orchestration_state.is_empty(), "{listed:?}");

    // The entity runs (status Running) and an orchestration finished: a purge of every
    // finished instance takes the orchestration only, whatever the entity's status.
    let from = Utc::now() - chrono::Duration::hours(1);
    let purged = client.purge_instance_history_by(from, None, &[]).await.unwrap();
    assert_eq!(purged.instances_deleted, 1);
    assert!(client.get_status("hello").await.unwrap().is_none());
    assert_eq!(state_of(&client, "kept").await, Some(2));
    let entities = client.list_entities(&EntityQuery::default()).await.unwrap();
    assert_eq!(entities.entities.len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_are_listed_by_name_time_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    for (key, amount) in [("a", 1), ("b", 2), ("c", 3)] {
        client.signal_entity(&counter(key), "add", amount).await.unwrap();
        wait_for_state(&client, key, Some(amount)).await;
    }
    client.signal_entity(&counter("c"), "delete", ()).await.unwrap();
    wait_for_state(&client, "c", None).await;

    // Without states by default; the deleted one is left out unless asked for.
    let all = client.list_entities(&EntityQuery::default()).await.unwrap();
    let keys: Vec<&str> = all.entities.iter().map(|e| e.entity_id.key()).collect();
    assert_eq!(keys, ["a", "b"]);
    assert!(all.entities.iter().all(|e| e.state.is_none() && e.locked_by.is_none()));
    assert_eq!(all.continuation_token, None);
    let with_deleted = EntityQuery { include_deleted: true, ..EntityQuery::default() };
    let keys: Vec<String> = client
        .list_entities(&with_deleted)
        .await
        .unwrap()
        .entities
        .into_iter()
        .map(|e| e.entity_id.key().to_owned())
        .collect();
    assert_eq!(keys, ["a", "b", "c"]);

    // By name in any case, with states, a page at a time.
    let mut query = EntityQuery {
        entity_name: Some("COUNTER".to_owned()),
        fetch_state: true,
        page_size: 1,
        ..EntityQuery::default()
    };
    let mut states = Vec::new();
    loop {
        let page = client.list_entities(&query).await.unwrap();
        assert!(page.entities.len() <= 1);
        states.extend(page.entities.iter().map(|e| (e.entity_id.to_string(), e.state.clone())));
        match page.continuation_token {
            Some(token) => query.continuation_token = Some(token),
            None => break,
        }
    }
    assert_eq!(
        states,
        [("@counter@a".to_owned(), Some(json!(1))), ("@counter@b".to_owned(), Some(json!(2)))]
    );
    // Another name, even a prefix of this one, matches nothing.
    let other = EntityQuery { entity_name: Some("Count".to_owned()), ..EntityQuery::default() };
    assert!(client.list_entities(&other).await.unwrap().entities.is_empty());

    // By the time of the last operation.
    let b = &all.entities[1];
    let since_b =
        EntityQuery { last_operation_from: Some(b.last_operation_time), ..EntityQuery::default() };
    let keys: Vec<String> = client
        .list_entities(&since_b)
        .await
        .unwrap()
        .entities
        .into_iter()
        .map(|e| e.entity_id.key().to_owned())
        .collect();
    assert_eq!(keys, ["b"]);
    let before_b = EntityQuery {
        last_operation_to: Some(b.last_operation_time - chrono::Duration::nanoseconds(1)),
        ..EntityQuery::default()
    };
    let keys: Vec<String> = client
        .list_entities(&before_b)
        .await
        .unwrap()
        .entities
        .into_iter()
        .map(|e| e.entity_id.key().to_owned())
        .collect();
    assert_eq!(keys, ["a"]);

    // Azure's JSON shape.
    let json = serde_json::to_value(&all.entities[0]).unwrap();
    assert_eq!(json["entityId"], json!({ "name": "counter", "key": "a" }));
    assert!(json["lastOperationTime"].is_string(), "{json}");
    assert!(json.get("state").is_none(), "{json}");

    // Refused queries.
    let zero = EntityQuery { page_size: 0, ..EntityQuery::default() };
    assert!(matches!(client.list_entities(&zero).await, Err(DurableError::InvalidQuery { .. })));
    let token = EntityQuery { continuation_token: Some("x".to_owned()), ..EntityQuery::default() };
    assert!(matches!(client.list_entities(&token).await, Err(DurableError::InvalidQuery { .. })));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleaning_removes_empty_entities_and_releases_orphaned_locks() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    // An empty entity: its state was deleted.
    client.signal_entity(&counter("empty"), "add", 1).await.unwrap();
    client.signal_entity(&counter("empty"), "delete", ()).await.unwrap();
    // One with a state, and one locked by a running orchestration: both kept.
    client.signal_entity(&counter("full"), "add", 5).await.unwrap();
    let holder = client.start_new("EntityStorage_HoldLock", None, "held").await.unwrap();
    // One locked by an orchestration instance that does not exist: a lock request written
    // to its inbox by another handle on the store, as a crashed or purged owner leaves it.
    client.signal_entity(&counter("orphan"), "add", 1).await.unwrap();
    wait_for_state(&client, "full", Some(5)).await;
    wait_for_state(&client, "orphan", Some(1)).await;
    let store =
        SqliteBackend::open(dir.path().join("durable.db"), SqliteOptions::default()).unwrap();
    let lock = EntityMessage::Lock(LockRequest {
        owner: "gone".to_owned(),
        request_id: "gone-lock-1".to_owned(),
        lock_set: vec![counter("orphan")],
        position: 0,
    });
    store.send_message(lock.to_message(&counter("orphan"), None, Utc::now())).await.unwrap();
    let locked_by = |key: &'static str| {
        let client = client.clone();
        async move {
            let all = EntityQuery { include_deleted: true, ..EntityQuery::default() };
            let page = client.list_entities(&all).await.unwrap();
            page.entities
                .into_iter()
                .find(|e| e.entity_id.key() == key)
                .map(|e| (e.locked_by, e.backlog))
        }
    };
    wait_for("both locks", DEADLINE, || async {
        let orphan = locked_by("orphan").await?.0?;
        let held = locked_by("held").await?.0?;
        (orphan == "gone" && held == holder).then_some(())
    })
    .await;
    wait_for_state(&client, "empty", None).await;
    // A signal the orphaned lock holds back.
    client.signal_entity(&counter("orphan"), "add", 10).await.unwrap();
    wait_for("the held-back signal", DEADLINE, || async {
        (locked_by("orphan").await? == (Some("gone".to_owned()), 1)).then_some(())
    })
    .await;
    assert_eq!(state_of(&client, "orphan").await, Some(1));

    // Neither asked for: nothing done.
    let nothing = client.clean_entity_storage(false, false).await.unwrap();
    assert_eq!(
        (nothing.num_of_empty_entities_removed, nothing.num_of_orphaned_locks_removed),
        (0, 0)
    );
    assert!(client.get_status("@counter@empty").await.unwrap().is_some());

    let cleaned = client.clean_entity_storage(true, true).await.unwrap();
    assert_eq!(cleaned.num_of_empty_entities_removed, 1);
    assert_eq!(cleaned.num_of_orphaned_locks_removed, 1);
    assert!(client.get_status("@counter@empty").await.unwrap().is_none());
    // The orphaned lock is released at the entity's next turn, and the signal it held back
    // runs; the running orchestration keeps its lock, and the full entity stays.
    wait_for_state(&client, "orphan", Some(11)).await;
    assert_eq!(locked_by("orphan").await, Some((None, 0)));
    assert_eq!(locked_by("held").await.and_then(|l| l.0), Some(holder.clone()));
    assert_eq!(state_of(&client, "full").await, Some(5));

    // Once the owner has finished, its lock is released by the end of its execution; a
    // second clean finds nothing left to do.
    client.terminate(&holder, "done").await.unwrap();
    wait_for("the holder's lock to go", DEADLINE, || async {
        locked_by("held").await.filter(|l| l.0.is_none())
    })
    .await;
    let again = client.clean_entity_storage(false, true).await.unwrap();
    assert_eq!(again.num_of_orphaned_locks_removed, 0);
    // The lock holder's entity never had a state: it is empty now, and removed.
    let last = client.clean_entity_storage(true, false).await.unwrap();
    assert_eq!(last.num_of_empty_entities_removed, 1);
    let status = client.get_status(&holder).await.unwrap().unwrap();
    assert_ne!(status.runtime_status, Completed);
    app.shutdown().await;
}
