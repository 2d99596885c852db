//! The live-instance cache is bounded: by count (`maxCachedOrchestrations`), the least
//! recently used run going first, and by idleness (`extendedSessionIdleTimeoutInSeconds`).
//! Evicted instances replay from history on their next event and complete correctly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::RunningApp;
use durable::prelude::*;
use durable_tests::{start_app_with, wait_for};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

#[orchestration_trigger(name = "WaitsForGo")]
async fn waits_for_go(
    context: DurableOrchestrationContext,
    base: u64,
) -> Result<u64, FunctionFailed> {
    let added: u64 = context.wait_for_external_event("go").await?;
    Ok(base + added)
}

/// Samples `app.stats().cached_orchestrations` every millisecond until stopped; returns the
/// largest value seen.
fn watch_cache_size(app: &Arc<RunningApp>) -> (Arc<AtomicBool>, tokio::task::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (app, stopped) = (app.clone(), stop.clone());
    let largest = tokio::spawn(async move {
        let largest = AtomicU64::new(0);
        while !stopped.load(Ordering::SeqCst) {
            largest.fetch_max(app.stats().cached_orchestrations, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        largest.into_inner()
    });
    (stop, largest)
}

/// Raises `go` with `1000 + i` to every instance and checks each output.
async fn complete_all(app: &RunningApp, ids: &[String]) {
    let client = app.client();
    for (i, id) in ids.iter().enumerate() {
        client.raise_event(id, "go", 1000 + i as u64).await.unwrap();
    }
    for (i, id) in ids.iter().enumerate() {
        let status = client.wait_for_completion(id, TIMEOUT).await.unwrap();
        assert_eq!((status.runtime_status, status.output), (Completed, json!(1000 + 2 * i as u64)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_cache_evicts_the_least_recently_used_and_they_replay() {
    const BOUND: u64 = 10;
    const INSTANCES: u64 = 50;
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(
        start_app_with(dir.path(), |config| {
            config.worker.max_cached_orchestrations = BOUND as usize;
        })
        .await,
    );
    let (stop, largest) = watch_cache_size(&app);
    let client = app.client();
    let mut ids = Vec::new();
    for i in 0..INSTANCES {
        ids.push(client.start(WaitsForGo, None, i).await.unwrap());
        assert!(app.stats().cached_orchestrations <= BOUND);
    }
    let started = app.stats();
    println!("all started: {started:?}");
    assert_eq!(started.cached_orchestrations, BOUND);
    assert_eq!(started.cache_evictions, INSTANCES - BOUND);
    assert_eq!(started.replays, 0);

    complete_all(&app, &ids).await;
    stop.store(true, Ordering::SeqCst);
    let largest = largest.await.unwrap();
    let done = app.stats();
    println!("all completed: {done:?}; the cache held at most {largest}");
    assert!(largest <= BOUND, "the cache held {largest} runs");
    // The first 40 started were evicted and replayed; the last 10 were still cached.
    assert_eq!(done.replays, INSTANCES - BOUND, "{done:?}");
    assert_eq!(done.cached_orchestrations, 0, "finished runs are not kept");
    if let Ok(app) = Arc::try_unwrap(app) {
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_runs_are_dropped_and_replay_on_their_next_event() {
    const INSTANCES: u64 = 5;
    let dir = tempfile::tempdir().unwrap();
    let app = start_app_with(dir.path(), |config| {
        config.worker.extended_session_idle_timeout = Duration::from_secs(1);
    })
    .await;
    let client = app.client();
    let mut ids = Vec::new();
    for i in 0..INSTANCES {
        ids.push(client.start(WaitsForGo, None, i).await.unwrap());
    }
    assert_eq!(app.stats().cached_orchestrations, INSTANCES);
    // The dispatcher sweeps the cache at least twice a second, with no other work to do.
    wait_for("the idle runs to be dropped", TIMEOUT, || async {
        (app.stats().cached_orchestrations == 0).then_some(())
    })
    .await;
    assert_eq!(app.stats().cache_evictions, INSTANCES);

    complete_all(&app, &ids).await;
    assert_eq!(app.stats().replays, INSTANCES);
    app.shutdown().await;
}
