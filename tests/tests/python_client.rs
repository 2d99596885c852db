//! Azure's own Python client against the app's management API: `DurableOrchestrationClient`
//! of the `azure-functions-durable` package, pointed at the webhook base URL, starts, queries,
//! lists, raises events to, terminates, suspends, resumes, rewinds, restarts and purges
//! instances, and signals and reads the samples' Counter entity
//! (tests/python/client_compat.py does the driving and checking).
//!
//! The package comes from PyPI into a venv under the target directory, made on the first run
//! and reused after; without python3 or PyPI the test fails and says how to make it by hand.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Terminated;
use durable::OrchestrationStatusQueryCondition;
use durable::prelude::*;
use durable_examples as _; // E1_HelloSequence and the Counter, which the script uses
use durable_tests::start_app_with;
use serde_json::{Value, json};
use tokio::process::Command;

/// The SDK version the script was written against; pinned so a new release cannot change
/// what the test means without anyone noticing.
const SDK_VERSION: &str = "1.7.0";

/// The task hub the app serves; the script's binding names it, as Azure's does.
const HUB: &str = "PythonClientHub";

/// How long the whole script may run; it takes a few seconds.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(180);

/// Waits for a "Go" event; returns its input and the event's data, as they arrived.
#[orchestration_trigger(name = "Py_WaitForGo")]
async fn wait_for_go(
    context: DurableOrchestrationContext,
    input: Value,
) -> Result<Value, FunctionFailed> {
    let event: Value = context.wait_for_external_event("Go").await?;
    Ok(json!({ "input": input, "event": event }))
}

static FLAKY_CALLS: AtomicU32 = AtomicU32::new(0);

/// Fails on its first call and succeeds after: a failure a rewind can undo.
#[activity_trigger(name = "Py_Flaky")]
fn flaky() -> Result<String, String> {
    match FLAKY_CALLS.fetch_add(1, Ordering::SeqCst) + 1 {
        1 => Err("Py_Flaky: first call fails".to_owned()),
        n => Ok(format!("recovered on call {n}")),
    }
}

/// Fails the first time it runs (in its activity), so the script can rewind it.
#[orchestration_trigger(name = "Py_FailOnce")]
async fn fail_once(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
    context.call_activity("Py_Flaky", ()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_python_client_drives_the_management_api() {
    let python = tokio::task::spawn_blocking(python_with_sdk)
        .await
        .unwrap()
        .unwrap_or_else(|message| panic!("{message}"));

    let dir = tempfile::tempdir().unwrap();
    let app = start_app_with(dir.path(), |c| {
        c.http.listen = Some("127.0.0.1:0".parse().unwrap());
        c.hub_name = HUB.to_owned();
    })
    .await;
    let addr = app.http_addr().unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/client_compat.py");
    let run = Command::new(&python)
        .arg(&script)
        .arg(format!("http://{addr}"))
        .arg(HUB)
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(SCRIPT_DEADLINE, run).await {
        Ok(output) => output.unwrap(),
        Err(_) => panic!("{} did not finish within {SCRIPT_DEADLINE:?}", script.display()),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python client's checks failed ({}):\n--- stdout\n{stdout}--- stderr\n{stderr}",
        output.status
    );
    println!("{stdout}");

    // Look in the store for what the script saw over HTTP.
    let result: Value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .map(|json| serde_json::from_str(json).unwrap())
        .unwrap_or_else(|| panic!("the script printed no RESULT line:\n{stdout}"));
    let client = app.client();
    for id in result["purged"].as_array().unwrap() {
        let id = id.as_str().unwrap();
        let status = client.get_status(id).await.unwrap();
        assert!(status.is_none(), "{id} was purged but is still there: {status:?}");
    }
    let kept = result["kept"].as_object().unwrap();
    for (id, reason) in kept {
        let status = client.get_status(id).await.unwrap().unwrap();
        assert_eq!(status.runtime_status, Terminated, "{id}");
        assert_eq!(&status.output, reason, "{id}");
    }
    let left = client.list_instances(&OrchestrationStatusQueryCondition::default()).await.unwrap();
    let mut left: Vec<&str> =
        left.durable_orchestration_state.iter().map(|s| s.instance_id.as_str()).collect();
    left.sort_unstable();
    let mut want: Vec<&str> = kept.keys().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(left, want, "the instances left in the store");
    // The Counter the script signalled holds 5 in the store, a number.
    let counter = EntityId::new("Counter", result["counter"].as_str().unwrap()).unwrap();
    let state = client.read_entity_state::<i32>(&counter).await.unwrap();
    assert_eq!(state.entity_state, Some(5), "{counter}");
    assert_eq!(
        FLAKY_CALLS.load(Ordering::SeqCst),
        2,
        "Py_Flaky ran once, then again after the rewind"
    );

    app.shutdown().await;
}

/// The venv's Python with azure-functions-durable installed: the one made on an earlier run,
/// or a new one. Errors say what failed and how to set it up by hand.
fn python_with_sdk() -> Result<PathBuf, String> {
    let target = target_dir();
    let venv = target.join("python-client-venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    let by_hand = format!(
        "This test runs Azure's Python client (azure-functions-durable=={SDK_VERSION}) in a \
         venv it creates with python3 and PyPI on its first run. To set it up by hand:\n    \
         python3 -m venv {venv}\n    \
         {python} -m pip install azure-functions-durable=={SDK_VERSION}",
        venv = venv.display(),
        python = python.display(),
    );
    std::fs::create_dir_all(&target).map_err(|e| format!("{e}\n{by_hand}"))?;
    // Test runs of several checkouts or commands may share the target directory: one at a
    // time builds the venv, the others then find it ready.
    let lock = File::options()
        .create(true)
        .write(true)
        .truncate(false)
        .open(target.join("python-client-venv.lock"))
        .and_then(|file| file.lock().map(|()| file))
        .map_err(|e| format!("cannot lock the venv: {e}\n{by_hand}"))?;

    if sdk_version(&python).as_deref() != Some(SDK_VERSION) {
        setup_step(
            StdCommand::new("python3").arg("-m").arg("venv").arg(&venv),
            "create the venv",
            &by_hand,
        )?;
        setup_step(
            StdCommand::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("azure-functions-durable=={SDK_VERSION}"),
            ]),
            "install azure-functions-durable from PyPI",
            &by_hand,
        )?;
        let installed = sdk_version(&python);
        if installed.as_deref() != Some(SDK_VERSION) {
            return Err(format!(
                "after installing, {} imports azure.durable_functions as version {installed:?}, \
                 not {SDK_VERSION}\n{by_hand}",
                python.display()
            ));
        }
    }
    drop(lock);
    Ok(python)
}

/// The version of azure-functions-durable `python` imports, if it runs and imports it.
fn sdk_version(python: &Path) -> Option<String> {
    let probe = "import importlib.metadata as m, azure.durable_functions; \
                 print(m.version('azure-functions-durable'))";
    let output = StdCommand::new(python).args(["-c", probe]).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs one step of making the venv; the error carries its output and `by_hand`.
fn setup_step(command: &mut StdCommand, what: &str, by_hand: &str) -> Result<(), String> {
    let shown = format!("{command:?}");
    match command.output() {
        Ok(Output { status, .. }) if status.success() => Ok(()),
        Ok(Output { status, stdout, stderr }) => Err(format!(
            "could not {what}: {shown} exited with {status}:\n{}{}\n{by_hand}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr),
        )),
        Err(e) => Err(format!("could not {what}: cannot run {shown}: {e}\n{by_hand}")),
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the workspace), else
/// `target/` of the workspace.
fn target_dir() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = tests.parent().unwrap_or(tests);
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}
