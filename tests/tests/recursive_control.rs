//! Terminate, suspend and resume with `recursive`: a tree of seven orchestrations (a root, two
//! children, four grandchildren) is suspended through the client, resumed over HTTP
//! (`?recursive=true`) and terminated from the command line (`--recursive`); without
//! `recursive` only the root changes. On both stores.

use std::process::Command;
use std::time::Duration;

use durable::DurableOrchestrationClient;
use durable::OrchestrationRuntimeStatus::{self, Running, Suspended, Terminated};
use durable::client::InstanceControl;
use durable_tests::stores::TestStore;
use durable_tests::test_app::Tree;
use durable_tests::wait_for;

const TREE: [&str; 7] = ["t", "t-a", "t-b", "t-a-a", "t-a-b", "t-b-a", "t-b-b"];

async fn wait_statuses(
    client: &DurableOrchestrationClient,
    want: impl Fn(&str) -> OrchestrationRuntimeStatus,
) {
    wait_for("the tree's statuses", Duration::from_secs(60), || async {
        for id in TREE {
            let status = client.get_status(id).await.unwrap().map(|s| s.runtime_status);
            if status != Some(want(id)) {
                return None;
            }
        }
        Some(())
    })
    .await;
}

fn controls_reach_the_whole_tree(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let mut config = store.config();
        config.http.listen = Some("127.0.0.1:0".parse().unwrap());
        let app = durable::FunctionApp::new(config).start().await.unwrap();
        let client = app.client();
        client.start(Tree, Some("t"), 2u32).await.unwrap();
        wait_statuses(&client, |_| Running).await;

        // Without `recursive`, only the root.
        client.control("t", "just the root", InstanceControl::Suspend, false).await.unwrap();
        wait_statuses(&client, |id| if id == "t" { Suspended } else { Running }).await;
        client.resume("t", "back").await.unwrap();
        wait_statuses(&client, |_| Running).await;

        client.control("t", "all of it", InstanceControl::Suspend, true).await.unwrap();
        wait_statuses(&client, |_| Suspended).await;

        let url = format!(
            "http://{}/runtime/webhooks/durabletask/instances/t/resume?recursive=true&reason=go",
            app.http_addr().unwrap()
        );
        let response = reqwest::Client::new().post(url).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
        wait_statuses(&client, |_| Running).await;

        let mut command = Command::new(env!("CARGO_BIN_EXE_test_app"));
        command.args(["terminate", "t", "--recursive", "--reason", "stop"]).env("RUST_LOG", "warn");
        store.apply(&mut command);
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        wait_statuses(&client, |_| Terminated).await;
        app.shutdown().await;
    });
}

durable_tests::on_both_stores!(controls_reach_the_whole_tree);
