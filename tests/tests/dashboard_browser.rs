//! The dashboard in a real headless browser (Debian's chromium, driven over WebDriver by
//! chromedriver): the list shows the instances started, an instance's timeline has one bar
//! per activity, Terminate behind its confirmation terminates the instance in the store, and
//! the task hub view lists the queues. Screenshots are saved as `target/dashboard.png` (the
//! terminated instance) and `target/dashboard-timeline.png` (a HelloSequence's timeline).
//!
//! When chromium or chromedriver is missing, the test installs Debian's packages first.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::{Completed, Terminated};
use durable::prelude::*;
use durable_examples as _; // E1_HelloSequence
use durable_tests::{start_app_with, wait_for};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const TIMEOUT: Duration = Duration::from_secs(30);

/// Waits for an event that never comes.
#[orchestration_trigger(name = "Dashboard_Wait")]
async fn dashboard_wait(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    context.wait_for_external_event::<()>("never").await
}

/// Installs chromium and chromedriver from Debian's packages unless both are there.
fn ensure_browser() {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return;
    }
    let apt = |args: &[&str]| {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .unwrap_or_else(|e| panic!("cannot run apt-get to install chromium: {e}"));
        assert!(status.success(), "apt-get {args:?} failed: {status}");
    };
    apt(&["update", "-qq"]);
    apt(&["install", "-y", "-qq", "chromium", "chromium-driver"]);
}

/// A chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Driver { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless browser session on `driver`, retried while chromedriver starts.
async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,1000"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    wait_for("a browser session", TIMEOUT, || {
        let connector = connector.clone();
        let capabilities = capabilities.clone();
        async move {
            ClientBuilder::new(connector).capabilities(capabilities).connect(&driver.url).await.ok()
        }
    })
    .await
}

/// Waits until the page shows the instance `id`.
async fn showing(browser: &Client, id: &str) {
    wait_for(&format!("the page of instance {id}"), TIMEOUT, || async {
        let shown = browser.find(Locator::Css("#instance-id")).await.ok()?;
        (shown.text().await.ok()? == id).then_some(())
    })
    .await;
}

fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{name}.png"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_lists_draws_and_terminates_instances_in_a_real_browser() {
    ensure_browser();
    let dir = tempfile::tempdir().unwrap();
    let app = start_app_with(dir.path(), |config| {
        config.http.listen = Some("127.0.0.1:0".parse().unwrap());
        config.http.keys.file = dir.path().join("keys.json");
    })
    .await;
    let client = app.client();
    for id in ["hello-1", "hello-2"] {
        client.start_new("E1_HelloSequence", Some(id), json!(null)).await.unwrap();
        let done = client.wait_for_completion(id, TIMEOUT).await.unwrap();
        assert_eq!(done.runtime_status, Completed);
    }
    client.start_new("Dashboard_Wait", Some("waiting"), json!(null)).await.unwrap();

    let driver = Driver::start();
    let browser = browser(&driver).await;
    let origin = format!("http://{}", app.http_addr().unwrap());
    browser.goto(&format!("{origin}/runtime/webhooks/durabletask/dashboard")).await.unwrap();
    let wait = || browser.wait().at_most(TIMEOUT);

    // The list shows the three instances, and the counts.
    for id in ["hello-1", "hello-2", "waiting"] {
        let row = format!("tr.instance[data-instance-id=\"{id}\"]");
        wait().for_element(Locator::Css(&row)).await.unwrap();
    }
    // From here on the page changes only when the test acts, so no element goes stale.
    browser.find(Locator::Css("#auto-refresh")).await.unwrap().click().await.unwrap();
    let completed = browser.find(Locator::Css(".count[data-status=\"Completed\"] b")).await;
    assert_eq!(completed.unwrap().text().await.unwrap(), "2");

    // One instance: its timeline has one bar per activity, all completed.
    browser
        .find(Locator::Css("tr.instance[data-instance-id=\"hello-1\"] a.open"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    showing(&browser, "hello-1").await;
    let bars = browser.find_all(Locator::Css("#timeline rect.bar.activity")).await.unwrap();
    assert_eq!(bars.len(), 3, "one bar per activity");
    for bar in &bars {
        assert_eq!(bar.attr("data-name").await.unwrap().as_deref(), Some("E1_SayHello"));
        assert!(bar.attr("class").await.unwrap().unwrap_or_default().contains("completed"));
    }
    let events = browser.find_all(Locator::Css("#history tr.event")).await.unwrap();
    assert_eq!(events.len(), 5, "ExecutionStarted, three TaskCompleted, ExecutionCompleted");
    std::fs::write(screenshot_path("dashboard-timeline"), browser.screenshot().await.unwrap())
        .unwrap();

    // Terminate, confirmed in the dialog: the store says Terminated.
    browser
        .goto(&format!("{origin}/runtime/webhooks/durabletask/dashboard/#/instance/waiting"))
        .await
        .unwrap();
    showing(&browser, "waiting").await;
    wait()
        .for_element(Locator::Css("button[data-action=\"Terminate\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let reason =
        wait().for_element(Locator::Css("#confirm [data-field=\"reason\"]")).await.unwrap();
    reason.send_keys("from the dashboard").await.unwrap();
    assert_eq!(
        client.get_status("waiting").await.unwrap().unwrap().runtime_status.as_str(),
        "Running"
    );
    browser.find(Locator::Css("#confirm-ok")).await.unwrap().click().await.unwrap();
    let terminated = wait_for("the instance to be terminated", TIMEOUT, || async {
        let status = client.get_status("waiting").await.unwrap()?;
        (status.runtime_status == Terminated).then_some(status)
    })
    .await;
    assert_eq!(terminated.output, json!("from the dashboard"));
    wait_for("the page to show it", TIMEOUT, || async {
        let shown = browser.find(Locator::Css("#instance-status")).await.ok()?;
        (shown.text().await.ok()? == "Terminated").then_some(())
    })
    .await;
    std::fs::write(screenshot_path("dashboard"), browser.screenshot().await.unwrap()).unwrap();

    // The task hub: a queue per function.
    browser.goto(&format!("{origin}/runtime/webhooks/durabletask/dashboard/#/hub")).await.unwrap();
    wait().for_element(Locator::Css("tr.queue[data-queue=\"E1_SayHello\"]")).await.unwrap();
    wait().for_element(Locator::Css("tr.queue[data-queue=\"Dashboard_Wait\"]")).await.unwrap();

    browser.close().await.unwrap();
    app.shutdown().await;
}
