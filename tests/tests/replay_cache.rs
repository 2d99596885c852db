//! A cached orchestration is not replayed: a 1,000-step sequence polls its future O(n) times
//! in total, and still completes correctly when the cache is dropped midway.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::prelude::*;
use durable_tests::{start_app, wait_for};
use serde_json::json;

const STEPS: u64 = 1_000;
static STEPS_RUN: AtomicU64 = AtomicU64::new(0);

#[activity_trigger(name = "Step")]
async fn step(value: u64) -> u64 {
    STEPS_RUN.fetch_add(1, Ordering::SeqCst);
    value + 1
}

#[orchestration_trigger(name = "Steps")]
async fn steps(context: DurableOrchestrationContext, count: u64) -> Result<u64, FunctionFailed> {
    let mut value = 0;
    for _ in 0..count {
        value = context.call(Step, value).await?;
    }
    Ok(value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_sequence_polls_once_per_step_and_survives_a_cache_drop() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let timeout = Duration::from_secs(120);

    // Fully cached: one poll to start, one per completed step; no replay.
    let id = client.start(Steps, None, STEPS).await.unwrap();
    let status = client.wait_for_completion(&id, timeout).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!(STEPS)));
    let cached = app.stats();
    println!("cached run: {cached:?}");
    assert_eq!(cached.replays, 0);
    assert_eq!(cached.orchestrator_polls, STEPS + 1);

    // Drop the cache halfway through a second run: one replay, then cached again.
    let before = STEPS_RUN.load(Ordering::SeqCst);
    let id = client.start(Steps, None, STEPS).await.unwrap();
    wait_for("half the steps", timeout, || async {
        (STEPS_RUN.load(Ordering::SeqCst) - before >= STEPS / 2).then_some(())
    })
    .await;
    app.clear_instance_cache();
    let status = client.wait_for_completion(&id, timeout).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!(STEPS)));
    let after = app.stats();
    println!("run with a cache drop: {after:?}");
    let polls = after.orchestrator_polls - cached.orchestrator_polls;
    assert_eq!(after.replays, 1, "exactly one cache miss");
    assert!(after.replayed_events >= STEPS, "{after:?}");
    // The replay re-polls at most once per recorded step: still linear, at most 2n + 2.
    assert!(polls <= 2 * STEPS + 2, "{polls} polls");
    app.shutdown().await;
}
