//! Azure's local configuration: `local.settings.json` (its `Values` are settings as the
//! environment's are, its `Host.LocalHttpPort` the port), host.json's
//! `extensions.http.routePrefix`, and `logging.logLevel` categories as log filters. The
//! sample app runs as a process in a directory holding both files.

use std::net::TcpListener;
use std::time::Duration;

use durable_tests::wait_for;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_settings_route_prefix_and_log_levels_apply() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = dir.path().join("from-local-settings.db");
    let local = json!({
        "IsEncrypted": false,
        "Values": { "DURABLE_DB": db, "DURABLE_HUB_NAME": "LocalHub", "FUNCTIONS_WORKER_RUNTIME": "custom" },
        "Host": { "LocalHttpPort": port }
    });
    std::fs::write(dir.path().join("local.settings.json"), local.to_string()).unwrap();
    let host = json!({
        "version": "2.0",
        "logging": { "logLevel": { "default": "Warning", "Function.ApprovalWorkflow": "Information" } },
        "extensions": { "http": { "routePrefix": "custom" } }
    });
    std::fs::write(dir.path().join("host.json"), host.to_string()).unwrap();

    // No DURABLE_* variables and no RUST_LOG: the files decide.
    let log = dir.path().join("serve.log");
    let mut child = {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_durable-samples"));
        command
            .arg("serve")
            .current_dir(dir.path())
            .env_remove("DURABLE_DB")
            .env_remove("DURABLE_LISTEN")
            .env_remove("DURABLE_HUB_NAME")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        command.spawn().unwrap()
    };
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let origin = format!("http://127.0.0.1:{port}");
    let hub: Value = wait_for("the app to serve on LocalHttpPort", TIMEOUT, || async {
        let response =
            http.get(format!("{origin}/runtime/webhooks/durabletask/taskhub")).send().await.ok()?;
        response.json().await.ok()
    })
    .await;
    assert_eq!(hub["hubName"], "LocalHub", "DURABLE_HUB_NAME from Values");
    assert!(db.exists(), "DURABLE_DB from Values");

    // HTTP functions answer under the route prefix only.
    let at_api = http
        .post(format!("{origin}/api/orchestrators/ApprovalWorkflow"))
        .json(&json!("order 9"))
        .send()
        .await
        .unwrap();
    assert_eq!(at_api.status(), 404);
    let started = http
        .post(format!("{origin}/custom/orchestrators/ApprovalWorkflow"))
        .json(&json!("order 9"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let urls: Value = started.json().await.unwrap();
    let status_url = urls["statusQueryGetUri"].as_str().unwrap().to_owned();
    let event_url =
        urls["sendEventPostUri"].as_str().unwrap().replace("{eventName}", "ApprovalEvent");
    wait_for("the workflow to wait for approval", TIMEOUT, || async {
        let status: Value = http.get(&status_url).send().await.ok()?.json().await.ok()?;
        (status["runtimeStatus"] == "Running" && status["customStatus"].is_object()).then_some(())
    })
    .await;
    let raised = http.post(&event_url).json(&json!(true)).send().await.unwrap();
    assert_eq!(raised.status(), 202);
    wait_for("the workflow to complete", TIMEOUT, || async {
        let status: Value = http.get(&status_url).send().await.ok()?.json().await.ok()?;
        (status["runtimeStatus"] == "Completed").then_some(())
    })
    .await;

    // The workflow's own module logs at Information; the runtime, at the default Warning.
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("order 9 was approved."), "{text}");
    assert!(!text.contains("listening on") && !text.contains("serving"), "{text}");
}
