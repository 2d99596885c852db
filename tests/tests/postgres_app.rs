//! The app on a PostgreSQL hub, unchanged: the HTTP host with Azure's management API, and the
//! test host on virtual time. (The CLI is covered on both stores by `cli.rs`, the store
//! contract by the conformance suite, failover by `pg_failover.rs`.)

use std::time::Duration;

use chrono::{TimeZone, Utc};
use durable::FunctionApp;
use durable::OrchestrationRuntimeStatus::{Completed, Running};
use durable::testing::TestHost;
use durable_tests::stores::{TestStore, hub_schema, psql};
use serde_json::{Value, json};

// The samples' registrations.
use durable_examples as _;

const WEBHOOK: &str = "/runtime/webhooks/durabletask";
const HOUR: Duration = Duration::from_secs(3600);

async fn wait_for_status(http: &reqwest::Client, url: &str, wanted: &str) -> Value {
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status: Value = http.get(url).send().await.unwrap().json().await.unwrap();
        if status["runtimeStatus"] == wanted {
            return status;
        }
        assert!(std::time::Instant::now() < give_up, "never {wanted}: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_serves_a_postgres_hub() {
    let store = TestStore::postgres();
    let mut config = store.config();
    config.http.listen = Some("127.0.0.1:0".parse().unwrap());
    config.http.keys.file = store.path().join("keys.json");
    let app = FunctionApp::new(config).start().await.unwrap();
    let origin = format!("http://{}{WEBHOOK}", app.http_addr().unwrap());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    // Start → 202 with the status URL → 200 Completed with the output.
    let started = http
        .post(format!("{origin}/orchestrators/E1_HelloSequence/hello-pg"))
        .header("Content-Type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let urls: Value = started.json().await.unwrap();
    let status_url = urls["statusQueryGetUri"].as_str().unwrap().to_owned();
    let done = wait_for_status(&http, &status_url, "Completed").await;
    assert_eq!(done["output"], json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]));

    // An instance waiting for an event: raise it, and it completes.
    let client = app.client();
    client.start_new("ApprovalWorkflow", Some("po-pg"), "order 7").await.unwrap();
    let waiting = format!("{origin}/instances/po-pg");
    wait_for_status(&http, &waiting, "Running").await;
    let raised = http
        .post(format!("{origin}/instances/po-pg/raiseEvent/ApprovalEvent"))
        .header("Content-Type", "application/json")
        .body("true")
        .send()
        .await
        .unwrap();
    assert_eq!(raised.status(), 202);
    assert_eq!(wait_for_status(&http, &waiting, "Completed").await["output"], json!("Approved"));

    // Listing, then purge: the rows are gone from the hub's schema.
    let listed: Value = http
        .get(format!("{origin}/instances?runtimeStatus=Completed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> =
        listed.as_array().unwrap().iter().filter_map(|s| s["instanceId"].as_str()).collect();
    assert!(ids.contains(&"hello-pg") && ids.contains(&"po-pg"), "{listed}");
    let purged = http.delete(format!("{origin}/instances/hello-pg")).send().await.unwrap();
    assert_eq!(purged.status(), 200);
    assert_eq!(purged.json::<Value>().await.unwrap(), json!({ "instancesDeleted": 1 }));
    let schema = hub_schema(&store.hub);
    let rows = psql(
        &store.db,
        &format!(
            "SELECT (SELECT count(*) FROM \"{schema}\".instances WHERE instance_id = 'hello-pg') \
             + (SELECT count(*) FROM \"{schema}\".history WHERE instance_id = 'hello-pg')"
        ),
    );
    assert_eq!(rows, "0");
    assert_eq!(
        http.get(format!("{origin}/instances/hello-pg")).send().await.unwrap().status(),
        404
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_host_runs_virtual_time_on_a_postgres_hub() {
    let store = TestStore::postgres();
    let mut config = store.config();
    config.http.listen = None;
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
    let host = TestHost::start_on(config, start).await.unwrap();
    let client = host.client();
    let id = client.start_new("ApprovalWorkflow", None, "order 8").await.unwrap();

    host.advance(72 * HOUR - Duration::from_secs(1)).await.unwrap();
    let status = client.get_status(&id).await.unwrap().unwrap();
    assert_eq!(status.runtime_status, Running);
    host.advance(Duration::from_secs(1)).await.unwrap();
    let status = client.wait_for_completion(&id, Duration::from_secs(20)).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!("Escalated")));
    assert_eq!(status.last_updated_time, start + chrono::Duration::hours(72));
    host.shutdown().await;
}
