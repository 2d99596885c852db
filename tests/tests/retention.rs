//! Retention with the virtual clock, on both stores: host.json's `retentionInDays` keeps
//! completed instances 7 days and failed ones 30; the background sweep purges each kind
//! once it is old enough and leaves running instances and entities alone. A purge by filter
//! of more instances than one chunk deletes them all, a chunk per write.

use std::time::Duration;

use chrono::Utc;
use durable::OrchestrationRuntimeStatus::{Completed, Failed, Running};
use durable::app::HostConfig;
use durable::backend::PURGE_CHUNK;
use durable::prelude::*;
use durable::testing::TestHost;
use durable_tests::stores::TestStore;
use durable_tests::wait_for;

// The samples' registrations: the Counter entity.
use durable_examples as _;

const DAY: Duration = Duration::from_secs(86_400);

#[orchestration_trigger(name = "Retention_Finish")]
async fn finish(_context: DurableOrchestrationContext, fail: bool) -> Result<(), FunctionFailed> {
    if fail {
        return Err(FunctionFailed {
            function: "Retention_Finish".to_owned(),
            details: FailureDetails::new(FailureKind::Error("Asked".to_owned()), "asked to fail"),
        });
    }
    Ok(())
}

#[orchestration_trigger(name = "Retention_Wait")]
async fn wait(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    context.wait_for_external_event::<()>("never").await
}

async fn host(store: &TestStore) -> TestHost {
    let config = HostConfig::from_host_json(
        r#"{ "extensions": { "durableTask": { "retentionInDays": { "Completed": 7, "Failed": 30 } } } }"#,
    )
    .unwrap();
    let mut config =
        HostConfig { storage: store.config().storage, hub_name: store.config().hub_name, ..config };
    config.http.listen = None;
    TestHost::start_on(config, Utc::now()).await.unwrap()
}

async fn exists(client: &DurableOrchestrationClient, id: &str) -> bool {
    client.get_status(id).await.unwrap().is_some()
}

fn finished_instances_are_purged_after_their_retention(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let host = host(store).await;
        let client = host.client();
        client.start(Finish, Some("done"), false).await.unwrap();
        client.start(Finish, Some("broken"), true).await.unwrap();
        client.start(Wait, Some("waiting"), serde_json::Value::Null).await.unwrap();
        let counter = EntityId::new("Counter", "kept").unwrap();
        client.signal_entity(&counter, "add", 1).await.unwrap();
        wait_for("the entity to run", Duration::from_secs(30), || async {
            client.read_entity_state::<i32>(&counter).await.unwrap().entity_state.map(|_| ())
        })
        .await;
        for (id, status) in [("done", Completed), ("broken", Failed), ("waiting", Running)] {
            wait_for("the instances to settle", Duration::from_secs(30), || async {
                let seen = client.get_status(id).await.unwrap().map(|s| s.runtime_status);
                (seen == Some(status)).then_some(())
            })
            .await;
        }

        host.advance(6 * DAY).await.unwrap();
        assert!(exists(&client, "done").await, "six days: still kept");
        host.advance(2 * DAY).await.unwrap();
        wait_for("the completed instance to go", Duration::from_secs(30), || async {
            (!exists(&client, "done").await).then_some(())
        })
        .await;
        assert!(exists(&client, "broken").await, "failed instances are kept 30 days");
        host.advance(23 * DAY).await.unwrap();
        wait_for("the failed instance to go", Duration::from_secs(30), || async {
            (!exists(&client, "broken").await).then_some(())
        })
        .await;
        assert!(exists(&client, "waiting").await, "a running instance is never purged");
        assert!(client.read_entity_state::<i32>(&counter).await.unwrap().entity_exists);
        host.shutdown().await;
    });
}

fn a_purge_by_filter_deletes_every_chunk(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let host = host(store).await;
        let client = host.client();
        let started = host.now();
        let n = PURGE_CHUNK * 2 + 7;
        for i in 0..n {
            client.start(Finish, Some(&format!("many-{i}")), false).await.unwrap();
        }
        wait_for("every instance to complete", Duration::from_secs(60), || async {
            let last = client.get_status(&format!("many-{}", n - 1)).await.unwrap();
            last.filter(|s| s.runtime_status == Completed).map(|_| ())
        })
        .await;
        for i in 0..n {
            client
                .wait_for_completion(&format!("many-{i}"), Duration::from_secs(30))
                .await
                .unwrap();
        }
        let purged = client.purge_instance_history_by(started, None, &[Completed]).await.unwrap();
        assert_eq!(purged.instances_deleted, n as u64);
        assert!(!exists(&client, "many-0").await);
        host.shutdown().await;
    });
}

durable_tests::on_both_stores!(
    finished_instances_are_purged_after_their_retention,
    a_purge_by_filter_deletes_every_chunk
);
