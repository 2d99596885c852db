//! An activity learns that its orchestration no longer waits for it: terminated while it
//! runs, or suspended and then terminated, its context's `cancelled()` completes and it stops
//! early. On both stores.

use std::sync::Mutex;
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::{Suspended, Terminated};
use durable::prelude::*;
use durable_tests::stores::TestStore;
use durable_tests::wait_for;
use serde_json::Value;

/// Instance ids whose activity started, and those whose activity saw the cancellation.
static STARTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static CANCELLED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn seen(list: &Mutex<Vec<String>>, id: &str) -> bool {
    list.lock().unwrap().iter().any(|seen| seen == id)
}

#[activity_trigger(name = "WaitForCancellation")]
async fn wait_for_cancellation(context: DurableActivityContext) -> bool {
    STARTED.lock().unwrap().push(context.instance_id().to_owned());
    tokio::select! {
        () = context.cancelled() => {
            assert!(context.is_cancelled());
            CANCELLED.lock().unwrap().push(context.instance_id().to_owned());
            true
        }
        () = tokio::time::sleep(Duration::from_secs(120)) => false,
    }
}

#[orchestration_trigger(name = "CallsWaitForCancellation")]
async fn calls_wait_for_cancellation(
    context: DurableOrchestrationContext,
) -> Result<bool, FunctionFailed> {
    context.call(WaitForCancellation, Value::Null).await
}

fn terminating_the_caller_cancels_its_activity(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = store.start_app().await;
        let client = app.client();
        for (n, suspend_first) in [(1, false), (2, true)] {
            // Unique across the stores' runs, which share the statics.
            let id = format!("cancel-{n}-{}", store.config().hub_name);
            client.start(CallsWaitForCancellation, Some(&id), Value::Null).await.unwrap();
            wait_for("the activity to start", Duration::from_secs(30), || async {
                seen(&STARTED, &id).then_some(())
            })
            .await;
            assert!(!seen(&CANCELLED, &id));
            if suspend_first {
                client.suspend(&id, "hold").await.unwrap();
                wait_for("the suspension", Duration::from_secs(30), || async {
                    let status = client.get_status(&id).await.unwrap().unwrap();
                    (status.runtime_status == Suspended).then_some(())
                })
                .await;
                assert!(!seen(&CANCELLED, &id), "a suspension alone does not cancel");
            }
            client.terminate(&id, "no longer needed").await.unwrap();
            let status = client.wait_for_completion(&id, Duration::from_secs(30)).await.unwrap();
            assert_eq!(status.runtime_status, Terminated);
            wait_for("the activity to see the cancellation", Duration::from_secs(10), || async {
                seen(&CANCELLED, &id).then_some(())
            })
            .await;
        }
        app.shutdown().await;
    });
}

durable_tests::on_both_stores!(terminating_the_caller_cancels_its_activity);
