//! Listing instances page by page and purging finished ones through the client, against a
//! running app: finished E1_HelloSequence instances beside instances that wait for an event.

use std::time::Duration;

use chrono::Utc;
use durable::OrchestrationRuntimeStatus::{Completed, Running, Terminated};
use durable::prelude::*;
use durable::{OrchestrationStatusQueryCondition, OrchestrationStatusQueryResult};
use durable_tests::{start_app, wait_for};
use serde_json::json;

// Linking the samples registers their functions (E1_HelloSequence).
use durable_examples as _;

const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs until it receives a `Go` event, and returns the event's data.
#[orchestration_trigger(name = "WaitsForGo")]
async fn waits_for_go(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
    let go: String = context.wait_for_external_event("Go").await?;
    Ok(go)
}

fn ids(result: &OrchestrationStatusQueryResult) -> Vec<&str> {
    result.durable_orchestration_state.iter().map(|s| s.instance_id.as_str()).collect()
}

async fn list(
    client: &DurableOrchestrationClient,
    condition: OrchestrationStatusQueryCondition,
) -> OrchestrationStatusQueryResult {
    client.list_instances(&condition).await.unwrap()
}

/// Starts `WaitsForGo` as `instance_id` and waits until it is running.
async fn start_waiter(client: &DurableOrchestrationClient, instance_id: &str) {
    client.start(WaitsForGo, Some(instance_id), json!({ "who": instance_id })).await.unwrap();
    wait_for(&format!("{instance_id} to run"), TIMEOUT, || async {
        let status = client.get_status(instance_id).await.unwrap()?;
        (status.runtime_status == Running).then_some(())
    })
    .await;
}

async fn run_hello(client: &DurableOrchestrationClient, instance_id: &str) {
    client.start_new("E1_HelloSequence", Some(instance_id), ()).await.unwrap();
    let status = client.wait_for_completion(instance_id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_instances_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    for id in ["hello-1", "hello-2", "hello-3"] {
        run_hello(&client, id).await;
    }
    let between = Utc::now();
    for id in ["wait-1", "wait-2"] {
        start_waiter(&client, id).await;
    }
    let all = ["hello-1", "hello-2", "hello-3", "wait-1", "wait-2"];

    // Everything, in creation order, with inputs and outputs; no history.
    let result = list(&client, OrchestrationStatusQueryCondition::default()).await;
    assert_eq!(ids(&result), all);
    assert_eq!(result.continuation_token, None);
    let hello = &result.durable_orchestration_state[0];
    assert_eq!(hello.name, "E1_HelloSequence");
    assert_eq!(hello.runtime_status, Completed);
    assert_eq!(hello.output, json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));
    assert!(hello.history.is_none());
    let waiter = &result.durable_orchestration_state[3];
    assert_eq!((waiter.runtime_status, &waiter.input), (Running, &json!({ "who": "wait-1" })));

    let cases = [
        (
            "status",
            OrchestrationStatusQueryCondition {
                runtime_status: vec![Running],
                ..Default::default()
            },
            vec!["wait-1", "wait-2"],
        ),
        (
            "statuses",
            OrchestrationStatusQueryCondition {
                runtime_status: vec![Completed, Terminated],
                ..Default::default()
            },
            vec!["hello-1", "hello-2", "hello-3"],
        ),
        (
            "created from",
            OrchestrationStatusQueryCondition {
                created_time_from: Some(between),
                ..Default::default()
            },
            vec!["wait-1", "wait-2"],
        ),
        (
            "created to",
            OrchestrationStatusQueryCondition {
                created_time_to: Some(between),
                ..Default::default()
            },
            vec!["hello-1", "hello-2", "hello-3"],
        ),
        (
            "prefix",
            OrchestrationStatusQueryCondition {
                instance_id_prefix: Some("wait-".to_owned()),
                ..Default::default()
            },
            vec!["wait-1", "wait-2"],
        ),
        (
            "combined",
            OrchestrationStatusQueryCondition {
                runtime_status: vec![Completed, Running],
                created_time_to: Some(between),
                instance_id_prefix: Some("hello-".to_owned()),
                ..Default::default()
            },
            vec!["hello-1", "hello-2", "hello-3"],
        ),
        (
            "nothing matches",
            OrchestrationStatusQueryCondition {
                runtime_status: vec![Running],
                instance_id_prefix: Some("hello-".to_owned()),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (what, condition, expected) in cases {
        assert_eq!(ids(&list(&client, condition).await), expected, "{what}");
    }

    // Without inputs.
    let result = list(
        &client,
        OrchestrationStatusQueryCondition {
            show_input: false,
            instance_id_prefix: Some("wait-".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert!(result.durable_orchestration_state.iter().all(|s| s.input.is_null()));

    // Two per page: every instance once, in order, and the last page says so.
    let mut condition = OrchestrationStatusQueryCondition { page_size: 2, ..Default::default() };
    let mut pages = Vec::new();
    loop {
        let page = list(&client, condition.clone()).await;
        pages.push(ids(&page).iter().map(|id| id.to_string()).collect::<Vec<_>>());
        match page.continuation_token {
            Some(token) => condition.continuation_token = Some(token),
            None => break,
        }
    }
    assert_eq!(pages, [vec!["hello-1", "hello-2"], vec!["hello-3", "wait-1"], vec!["wait-2"]]);

    // The JSON shape of Azure's HTTP API.
    let first =
        list(&client, OrchestrationStatusQueryCondition { page_size: 1, ..Default::default() })
            .await;
    let json = serde_json::to_value(&first).unwrap();
    assert_eq!(json["durableOrchestrationState"][0]["instanceId"], "hello-1");
    assert!(json["continuationToken"].is_string());

    // Bad conditions are refused.
    for condition in [
        OrchestrationStatusQueryCondition {
            continuation_token: Some("not a token".to_owned()),
            ..Default::default()
        },
        OrchestrationStatusQueryCondition { page_size: 0, ..Default::default() },
    ] {
        let err = client.list_instances(&condition).await.unwrap_err();
        assert!(matches!(err, DurableError::InvalidQuery { .. }), "{err}");
    }

    for id in ["wait-1", "wait-2"] {
        client.raise_event(id, "Go", "done").await.unwrap();
        client.wait_for_completion(id, TIMEOUT).await.unwrap();
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_finished_instances_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();

    let start = Utc::now();
    for id in ["hello-1", "hello-2", "hello-3"] {
        run_hello(&client, id).await;
    }
    start_waiter(&client, "wait-1").await;

    // A running instance is refused, and stays listed and running.
    let err = client.purge_instance_history("wait-1").await.unwrap_err();
    assert!(
        matches!(&err, DurableError::InstanceNotFinished { instance_id, status } if instance_id == "wait-1" && *status == Running),
        "{err}"
    );
    assert!(err.to_string().contains("Running"), "{err}");
    let err =
        client.purge_instance_history_by(start, None, &[Completed, Running]).await.unwrap_err();
    assert!(matches!(err, DurableError::InvalidQuery { .. }), "{err}");
    let status = client.get_status("wait-1").await.unwrap().unwrap();
    assert_eq!(status.runtime_status, Running);

    // Purge one by id: it is gone, with its history; a second purge finds nothing.
    let result = client.purge_instance_history("hello-1").await.unwrap();
    assert_eq!(result.instances_deleted, 1);
    assert_eq!(serde_json::to_value(result).unwrap(), json!({ "instancesDeleted": 1 }));
    assert!(client.get_status("hello-1").await.unwrap().is_none());
    assert!(client.get_status_with_history("hello-1").await.unwrap().is_none());
    assert_eq!(client.purge_instance_history("hello-1").await.unwrap().instances_deleted, 0);
    let err = client.purge_instance_history("").await.unwrap_err();
    assert!(matches!(err, DurableError::InvalidInstanceId { .. }), "{err}");

    // Purge by creation time: the finished ones go, the running one stays and keeps running.
    let result = client.purge_instance_history_by(start, Some(Utc::now()), &[]).await.unwrap();
    assert_eq!(result.instances_deleted, 2);
    let remaining = list(&client, OrchestrationStatusQueryCondition::default()).await;
    assert_eq!(ids(&remaining), ["wait-1"]);
    client.raise_event("wait-1", "Go", "first").await.unwrap();
    let status = client.wait_for_completion("wait-1", TIMEOUT).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!("first")));

    // Once finished it can be purged, and its id used again.
    let result = client.purge_instance_history_by(start, None, &[Completed]).await.unwrap();
    assert_eq!(result.instances_deleted, 1);
    assert!(client.get_status("wait-1").await.unwrap().is_none());
    start_waiter(&client, "wait-1").await;
    client.raise_event("wait-1", "Go", "second").await.unwrap();
    let status = client.wait_for_completion("wait-1", TIMEOUT).await.unwrap();
    assert_eq!(status.output, json!("second"));
    let history = client.get_status_with_history("wait-1").await.unwrap().unwrap().history.unwrap();
    assert_eq!(
        history.iter().filter(|e| e.kind.type_name() == "ExecutionStarted").count(),
        1,
        "the new execution's history starts afresh"
    );
    app.shutdown().await;
}
