//! Helpers shared by the end-to-end tests.

pub mod cluster;
pub mod stores;
pub mod test_app;

use std::fs::File;
use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use durable::app::{HostConfig, StorageConfig};
use durable::{FunctionApp, RunningApp};

/// The history of a completed E1_HelloSequence, less its `OrchestratorStarted` events.
pub const HELLO_SEQUENCE_HISTORY: [&str; 8] = [
    "ExecutionStarted",
    "TaskScheduled",
    "TaskCompleted",
    "TaskScheduled",
    "TaskCompleted",
    "TaskScheduled",
    "TaskCompleted",
    "ExecutionCompleted",
];

/// The event types of a history printed as JSON, less its `OrchestratorStarted` events (to
/// compare with [`HELLO_SEQUENCE_HISTORY`]).
pub fn event_types(history: &serde_json::Value) -> Vec<&str> {
    let events = history.as_array().map(Vec::as_slice).unwrap_or_default();
    events
        .iter()
        .filter_map(|e| e["EventType"].as_str())
        .filter(|t| *t != "OrchestratorStarted")
        .collect()
}

/// Starts an app on a fresh SQLite file in `dir` with full durability.
pub async fn start_app(dir: &Path) -> RunningApp {
    start_app_with(dir, |_| {}).await
}

/// Starts an app on a fresh SQLite file in `dir`, after `adjust` edits the configuration.
/// It serves no HTTP unless `adjust` sets `http.listen`.
pub async fn start_app_with(dir: &Path, adjust: impl FnOnce(&mut HostConfig)) -> RunningApp {
    let mut config = HostConfig {
        storage: StorageConfig::Sqlite { path: dir.join("durable.db") },
        ..HostConfig::default()
    };
    config.http.listen = None;
    adjust(&mut config);
    match FunctionApp::new(config).start().await {
        Ok(app) => app,
        Err(e) => panic!("the app did not start: {e}"),
    }
}

/// A multi-threaded runtime with two workers, as the test machine has two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("no tokio runtime: {e}"),
    }
}

/// A function app binary (the tests' `CARGO_BIN_EXE_durable-samples` or `…_test_app`)
/// serving as a child process on the SQLite file `dir/durable.db`, logging to `log`, with
/// `env` set.
pub fn serve_app(binary: &str, dir: &Path, log: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Child {
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .env("DURABLE_LISTEN", "127.0.0.1:0")
        .current_dir(dir)
        .env("DURABLE_DB", dir.join("durable.db"))
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null());
    match File::create(log).and_then(|file| command.stderr(file).spawn()) {
        Ok(child) => child,
        Err(e) => panic!("cannot start {binary}: {e}"),
    }
}

/// Polls `check` until it returns `Some`, failing the test after `deadline`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= give_up {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A child process serving a task hub, killed when dropped, however the test ends.
pub struct Serving(Child);

impl Serving {
    /// Spawns `command` (an app binary with `serve`, its store set) with its log piped, and
    /// waits until it serves the hub; its log is drained meanwhile so it never blocks.
    pub fn start(mut command: Command) -> Serving {
        let mut child = match command
            .env("DURABLE_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => panic!("cannot start the app: {e}"),
        };
        let log = child.stderr.take();
        let serving = Serving(child);
        let (ready, is_ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let Some(log) = log else { return };
            for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
                if line.contains("serving") {
                    let _ = ready.send(());
                }
            }
        });
        if is_ready.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!("the app did not start serving within 30 s");
        }
        serving
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
