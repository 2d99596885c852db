//! Function keys over real HTTP: which key opens the management API, refusing to listen
//! beyond loopback without keys, generated keys files, and keys kept out of the logs.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable::app::{HostConfig, StorageConfig};
use durable::http::{KeySettings, Secret};
use durable::{FunctionApp, RunningApp};
use durable_examples as _; // E1_HelloSequence
use durable_tests::{start_app_with, wait_for};
use reqwest::StatusCode;
use serde_json::Value;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(30);

const MASTER: &str = "master-key-0b7e";
const SYSTEM: &str = "system-key-4c21";
const FUNCTION: &str = "function-key-9ad3";

/// How a request presents a key.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    None,
    /// As the `code` query parameter.
    Code(&'a str),
    /// As the `x-functions-key` header.
    Header(&'a str),
}

/// A response, read whole.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    text: String,
}

impl Reply {
    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Asserts a 401 in Azure's JSON error shape.
    #[track_caller]
    fn assert_unauthorized(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{self:?}");
        let body = self.json();
        assert!(body["Message"].is_string() && body["ExceptionMessage"].is_string(), "{self:?}");
    }
}

/// Sends `method` to `url` (absolute, or a management path such as `/instances` on the
/// loopback port of `addr`) presenting `key`.
async fn request(method: &str, addr: SocketAddr, url: &str, key: Key<'_>) -> Reply {
    let mut url = if url.starts_with("http") {
        url.to_owned()
    } else {
        format!("http://127.0.0.1:{}/runtime/webhooks/durabletask{url}", addr.port())
    };
    if let Key::Code(code) = key {
        // The test keys need no escaping.
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("code=");
        url.push_str(code);
    }
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut builder = http.request(method.parse().unwrap(), &url);
    if let Key::Header(key) = key {
        builder = builder.header("x-functions-key", key);
    }
    let response = builder.send().await.unwrap();
    Reply { status: response.status(), text: response.text().await.unwrap() }
}

async fn get(addr: SocketAddr, url: &str, key: Key<'_>) -> Reply {
    request("GET", addr, url, key).await
}

/// Starts an app serving on a free loopback port with the keys `keys` sets; the keys file
/// is in `dir`.
async fn start(dir: &Path, keys: impl FnOnce(&mut KeySettings)) -> (RunningApp, SocketAddr) {
    let app = start_app_with(dir, |config| {
        config.http.listen = Some("127.0.0.1:0".parse().unwrap());
        config.http.keys.file = dir.join("keys.json");
        keys(&mut config.http.keys);
    })
    .await;
    let addr = app.http_addr().unwrap();
    (app, addr)
}

fn fixed_keys(keys: &mut KeySettings) {
    keys.master = Some(Secret::new(MASTER));
    keys.system = Some(Secret::new(SYSTEM));
    keys.function = Some(Secret::new(FUNCTION));
}

/// A keys file's `masterKey`, `systemKey` and `functionKey`.
fn read_keys_file(path: &Path) -> [String; 3] {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    ["masterKey", "systemKey", "functionKey"].map(|name| match file[name].as_str() {
        Some(key) if !key.is_empty() => key.to_owned(),
        _ => panic!("no {name} in {file}"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_takes_the_system_or_the_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = start(dir.path(), fixed_keys).await;

    for key in [
        Key::None,
        Key::Code(FUNCTION),
        Key::Header(FUNCTION),
        Key::Code("not-a-key"),
        Key::Code(""),
    ] {
        get(addr, "/instances", key).await.assert_unauthorized();
        request("POST", addr, "/orchestrators/E1_HelloSequence", key).await.assert_unauthorized();
    }
    let client = app.client();
    let nothing = client.list_instances(&Default::default()).await.unwrap();
    assert!(nothing.durable_orchestration_state.is_empty(), "a refused start created an instance");

    for key in [Key::Code(SYSTEM), Key::Header(SYSTEM), Key::Code(MASTER), Key::Header(MASTER)] {
        let reply = get(addr, "/instances", key).await;
        assert_eq!(reply.status, StatusCode::OK, "{key:?}: {reply:?}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_takes_the_management_keys_and_fetches_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = start(dir.path(), fixed_keys).await;
    for path in ["/dashboard/", "/taskhub"] {
        for key in [Key::None, Key::Code(FUNCTION), Key::Header(FUNCTION)] {
            get(addr, path, key).await.assert_unauthorized();
        }
    }
    for key in [Key::Code(SYSTEM), Key::Header(MASTER)] {
        let page = get(addr, "/dashboard/", key).await;
        assert_eq!(page.status, StatusCode::OK, "{key:?}: {page:?}");
        assert!(page.text.starts_with("<!doctype html>") && page.text.contains("showInstance"));
        // Style and script are inlined; the only absolute URL is the SVG namespace.
        let urls = page.text.matches("http://").count() + page.text.matches("https://").count();
        let namespace = page.text.matches("http://www.w3.org/2000/svg").count();
        assert_eq!(urls, namespace, "the page refers to nothing outside the app");
        assert!(!page.text.contains("/*SCRIPT*/") && !page.text.contains("/*STYLE*/"));
        let hub = get(addr, "/taskhub", key).await.json();
        assert_eq!(hub["hubName"], "TestHubName");
        assert_eq!(hub["statusCounts"]["Running"], 0);
        assert!(hub["queues"].as_array().unwrap().iter().any(|q| q["name"] == "E1_SayHello"));
    }
    // The bare path redirects to the page, keeping the key.
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!(
        "http://127.0.0.1:{}/runtime/webhooks/durabletask/dashboard?code={SYSTEM}",
        addr.port()
    );
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("dashboard/?code={SYSTEM}"));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_status_urls_carry_the_system_key() {
    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = start(dir.path(), fixed_keys).await;

    let reply = request("POST", addr, "/orchestrators/E1_HelloSequence", Key::Header(MASTER)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let body = reply.json();
    let suffix = format!("taskHub=TestHubName&connection=Storage&code={SYSTEM}");
    for field in [
        "statusQueryGetUri",
        "sendEventPostUri",
        "terminatePostUri",
        "purgeHistoryDeleteUri",
        "restartPostUri",
        "suspendPostUri",
        "resumePostUri",
    ] {
        let url = body[field].as_str().unwrap_or_default();
        assert!(url.ends_with(&suffix), "{field}: {url}");
    }

    // The status URL works as given, with no other key.
    let status_url = body["statusQueryGetUri"].as_str().unwrap();
    let done = wait_for("the status URL to report completion", TIMEOUT, || async {
        let reply = get(addr, status_url, Key::None).await;
        assert!(reply.status.is_success(), "{reply:?}");
        (reply.status == StatusCode::OK).then(|| reply.json())
    })
    .await;
    assert_eq!(done["runtimeStatus"], "Completed");
    app.shutdown().await;
}

/// The configuration of an app on a fresh store in `dir` listening on every interface.
fn public_config(dir: &Path) -> HostConfig {
    let mut config = HostConfig {
        storage: StorageConfig::Sqlite { path: dir.join("durable.db") },
        ..HostConfig::default()
    };
    config.http.listen = Some("0.0.0.0:0".parse().unwrap());
    config.http.keys.file = dir.join("keys.json");
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_beyond_loopback_requires_keys() {
    let dir = tempfile::tempdir().unwrap();
    match FunctionApp::new(public_config(dir.path())).start().await {
        Err(error @ durable::Error::KeysRequired { .. }) => {
            let message = error.to_string();
            assert!(message.contains("keys"), "{message}");
            assert!(message.contains("DURABLE_MASTER_KEY"), "{message}");
        }
        Err(other) => panic!("expected KeysRequired, got {other}"),
        Ok(app) => {
            app.shutdown().await;
            panic!("the app served on 0.0.0.0 without keys");
        }
    }
    assert!(!dir.path().join("keys.json").exists());

    let mut config = public_config(dir.path());
    config.http.keys.master = Some(Secret::new(MASTER));
    let app = match FunctionApp::new(config).start().await {
        Ok(app) => app,
        Err(e) => panic!("the app did not start with a key: {e}"),
    };
    let addr = app.http_addr().unwrap();
    assert!(addr.ip().is_unspecified(), "{addr}");
    get(addr, "/instances", Key::None).await.assert_unauthorized();
    let reply = get(addr, "/instances", Key::Code(MASTER)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_keys_are_kept_owner_only_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("keys.json");
    let generate = |keys: &mut KeySettings| keys.generate = true;

    let (app, addr) = start(dir.path(), generate).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }
    let written = std::fs::read_to_string(&keys_file).unwrap();
    let [master, system, function] = read_keys_file(&keys_file);
    assert!(master != system && system != function && master != function);

    get(addr, "/instances", Key::None).await.assert_unauthorized();
    get(addr, "/instances", Key::Code(&function)).await.assert_unauthorized();
    for key in [Key::Code(&system), Key::Header(&system), Key::Code(&master)] {
        let reply = get(addr, "/instances", key).await;
        assert_eq!(reply.status, StatusCode::OK, "{key:?}: {reply:?}");
    }
    app.shutdown().await;

    let (app, addr) = start(dir.path(), generate).await;
    assert_eq!(std::fs::read_to_string(&keys_file).unwrap(), written);
    let reply = get(addr, "/instances", Key::Header(&system)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    get(addr, "/instances", Key::None).await.assert_unauthorized();
    app.shutdown().await;
}

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Sink {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_appear_in_the_logs() {
    // Every level of every span and event the app records, less those of the test's own
    // HTTP client, which may print the URLs it requests. (`set_global_default`, unlike
    // `init`, does not capture `log` records either: the client's crates write some.)
    let sink = Sink::default();
    let writer = sink.clone();
    let app_only = filter_fn(|meta| !meta.target().starts_with("hyper_util::client"));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .with_filter(app_only),
        ),
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = start(dir.path(), |keys| keys.generate = true).await;
    let keys = read_keys_file(&dir.path().join("keys.json"));
    let [master, system, function] = &keys;

    let reply = request("POST", addr, "/orchestrators/E1_HelloSequence", Key::Code(system)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let status_url = reply.json()["statusQueryGetUri"].as_str().unwrap().to_owned();
    wait_for("the instance to complete", TIMEOUT, || async {
        (get(addr, &status_url, Key::None).await.status == StatusCode::OK).then_some(())
    })
    .await;
    let unknown = request("POST", addr, "/instances/nobody/terminate", Key::Code(system)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    let listed = get(addr, "/instances?showInput=maybe", Key::Header(master)).await;
    assert_eq!(listed.status, StatusCode::BAD_REQUEST, "{listed:?}");
    get(addr, "/instances", Key::Code(function)).await.assert_unauthorized();
    let url = format!("http://127.0.0.1:{}/api/nothing-here", addr.port());
    let missing = get(addr, &url, Key::Code(function)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    app.shutdown().await;

    let logs = sink.text();
    assert!(logs.contains("generated function keys"), "the logs were not captured: {logs}");
    for key in &keys {
        let leaks: Vec<&str> = logs.lines().filter(|line| line.contains(key.as_str())).collect();
        assert!(leaks.is_empty(), "a key is logged: {leaks:#?}");
    }
}
