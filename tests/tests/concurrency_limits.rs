//! Concurrency limits, on both stores: a per-function limit (`max_concurrency = 2` on the
//! attribute, or `functions.<name>.maxConcurrency` in host.json) never lets more invocations of
//! that activity run at once, while another activity's work keeps flowing; and the global
//! `maxConcurrentActivityFunctions` and `maxConcurrentOrchestratorFunctions` hold.
//!
//! The functions under test pass through a [`Gate`] that counts how many run at once and holds
//! them until the test releases them one by one, so each limit is measured at its peak.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::app::HostConfig;
use durable::prelude::*;
use durable::{FunctionApp, RunningApp};
use durable_tests::stores::TestStore;
use durable_tests::wait_for;
use serde::{Deserialize, Serialize};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(30);

/// Counts the invocations passing through it and holds each until released. One per test
/// run (keyed by a tag in the input), since the tests of both stores run at once.
struct Gate {
    running: AtomicUsize,
    peak: AtomicUsize,
    done: AtomicUsize,
    /// Releases for async callers (activities).
    released: tokio::sync::Semaphore,
    /// Releases for blocking callers (orchestrators, whose turns are synchronous).
    released_blocking: (Mutex<usize>, Condvar),
}

impl Gate {
    fn of(tag: &str) -> Arc<Gate> {
        static GATES: LazyLock<Mutex<HashMap<String, Arc<Gate>>>> = LazyLock::new(Mutex::default);
        let mut gates = GATES.lock().unwrap_or_else(PoisonError::into_inner);
        let new = || {
            Arc::new(Gate {
                running: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                done: AtomicUsize::new(0),
                released: tokio::sync::Semaphore::new(0),
                released_blocking: (Mutex::new(0), Condvar::new()),
            })
        };
        gates.entry(tag.to_owned()).or_insert_with(new).clone()
    }

    fn enter(&self) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.done.fetch_add(1, Ordering::SeqCst);
    }

    async fn pass(&self) {
        self.enter();
        if let Ok(permit) = self.released.acquire().await {
            permit.forget();
        }
        self.leave();
    }

    /// Blocks the calling thread until released (or, should the test be gone, a while); the
    /// runtime hands the thread's other tasks to another one meanwhile.
    fn pass_blocking(&self) {
        tokio::task::block_in_place(|| self.wait_blocking());
    }

    fn wait_blocking(&self) {
        self.enter();
        let (released, changed) = &self.released_blocking;
        let mut released = released.lock().unwrap_or_else(PoisonError::into_inner);
        while *released == 0 {
            let (guard, waited) =
                changed.wait_timeout(released, DEADLINE).unwrap_or_else(PoisonError::into_inner);
            released = guard;
            if waited.timed_out() {
                break;
            }
        }
        *released = released.saturating_sub(1);
        drop(released);
        self.leave();
    }

    fn release_one(&self) {
        self.released.add_permits(1);
        let (released, changed) = &self.released_blocking;
        *released.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        changed.notify_all();
    }

    /// Waits until `limit` invocations run, failing at once should more run.
    async fn saturated(&self, limit: usize) {
        wait_for(&format!("{limit} invocations running"), DEADLINE, || async {
            (self.running() >= limit).then_some(())
        })
        .await;
        self.assert_peak_within(limit);
    }

    fn assert_peak_within(&self, limit: usize) {
        let peak = self.peak.load(Ordering::SeqCst);
        assert!(peak <= limit, "{peak} invocations ran at once; the limit is {limit}");
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Releases the `total` invocations one at a time; after each, checks that the next one
    /// took the freed slot (`limit` run while enough are left), and that `limit` was never
    /// exceeded.
    async fn release_all(&self, total: usize, limit: usize) {
        self.saturated(limit).await;
        for released in 1..=total {
            self.release_one();
            let expected = limit.min(total - released);
            wait_for(&format!("{released} released and {expected} running"), DEADLINE, || async {
                let done = self.done.load(Ordering::SeqCst);
                (done == released && self.running() == expected).then_some(())
            })
            .await;
        }
        assert_eq!(self.peak.load(Ordering::SeqCst), limit, "the limit of {limit} did not hold");
    }
}

#[activity_trigger(name = "LimitedToTwo", max_concurrency = 2)]
async fn limited_to_two(input: (String, u32)) -> u32 {
    Gate::of(&input.0).pass().await;
    input.1
}

#[activity_trigger(name = "LimitedByHostJson")]
async fn limited_by_host_json(input: (String, u32)) -> u32 {
    Gate::of(&input.0).pass().await;
    input.1
}

#[activity_trigger(name = "Unlimited")]
async fn unlimited(input: (String, u32)) -> u32 {
    Gate::of(&input.0).pass().await;
    input.1
}

#[activity_trigger(name = "Quick")]
async fn quick(n: u32) -> u32 {
    n
}

#[derive(Serialize, Deserialize)]
struct FanOutInput {
    tag: String,
    activity: String,
    count: u32,
}

/// Calls `activity` `count` times at once.
#[orchestration_trigger(name = "FanOutTo")]
async fn fan_out_to(
    context: DurableOrchestrationContext,
    input: FanOutInput,
) -> Result<u32, FunctionFailed> {
    let calls: Vec<_> = (0..input.count)
        .map(|n| context.call_activity::<u32>(&input.activity, (&input.tag, n)))
        .collect();
    Ok(when_all(calls).await?.into_iter().sum())
}

/// Calls `Quick` three times at once.
#[orchestration_trigger(name = "CallsQuick")]
async fn calls_quick(context: DurableOrchestrationContext) -> Result<u32, FunctionFailed> {
    let calls: Vec<_> = (1..=3).map(|n| context.call_activity::<u32>("Quick", n)).collect();
    Ok(when_all(calls).await?.into_iter().sum())
}

/// Waits for the event `go`, then passes the gate named by its input inside its turn.
#[orchestration_trigger(name = "BlocksAfterGo")]
async fn blocks_after_go(
    context: DurableOrchestrationContext,
    tag: String,
) -> Result<(), FunctionFailed> {
    context.wait_for_external_event::<()>("go").await?;
    if !context.is_replaying() {
        Gate::of(&tag).pass_blocking();
    }
    Ok(())
}

/// The gate of one test run: its store's directory.
fn tag(store: &TestStore) -> String {
    store.path().display().to_string()
}

async fn start(config: HostConfig) -> RunningApp {
    let mut config = config;
    config.http.listen = None;
    match FunctionApp::new(config).start().await {
        Ok(app) => app,
        Err(e) => panic!("the app did not start: {e}"),
    }
}

/// Fans out `count` calls of the gated `activity` and releases them one by one, checking that
/// no more than `limit` run at once, and that `Quick` calls complete while it is saturated.
async fn fan_out_within(app: &RunningApp, tag: &str, activity: &str, count: u32, limit: usize) {
    let client = app.client();
    let input = FanOutInput { tag: tag.to_owned(), activity: activity.to_owned(), count };
    let fan_out = client.start(FanOutTo, None, input).await.unwrap();
    let gate = Gate::of(tag);
    gate.saturated(limit).await;
    let other = client.start(CallsQuick, None, ()).await.unwrap();
    let status = client.wait_for_completion(&other, DEADLINE).await.unwrap();
    assert_eq!((status.runtime_status, status.output), (Completed, json!(6)));
    assert_eq!(gate.running(), limit, "{activity} stays saturated meanwhile");
    gate.release_all(count as usize, limit).await;
    let status = client.wait_for_completion(&fan_out, DEADLINE).await.unwrap();
    let sum = (0..count).sum::<u32>();
    assert_eq!((status.runtime_status, status.output), (Completed, json!(sum)));
}

fn an_activity_limit_holds_while_others_flow(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let app = start(store.config()).await;
        fan_out_within(&app, &tag(store), "LimitedToTwo", 10, 2).await;
        app.shutdown().await;
    });
}

fn a_host_json_limit_holds_while_others_flow(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let host_json = HostConfig::from_host_json(
            r#"{ "version": "2.0", "extensions": { "durableTask": {
                "functions": { "LimitedByHostJson": { "maxConcurrency": 3 } } } } }"#,
        )
        .unwrap();
        let app = start(HostConfig { worker: host_json.worker, ..store.config() }).await;
        fan_out_within(&app, &tag(store), "LimitedByHostJson", 8, 3).await;
        app.shutdown().await;
    });
}

fn host_json_overrides_the_attribute(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let host_json = HostConfig::from_host_json(
            r#"{ "extensions": { "durableTask": {
                "functions": { "LimitedToTwo": { "maxConcurrency": 1 } } } } }"#,
        )
        .unwrap();
        let app = start(HostConfig { worker: host_json.worker, ..store.config() }).await;
        fan_out_within(&app, &tag(store), "LimitedToTwo", 4, 1).await;
        app.shutdown().await;
    });
}

fn the_global_activity_limit_holds(store: &TestStore) {
    durable_tests::runtime().block_on(async {
        let mut config = store.config();
        config.worker.max_concurrent_activity_functions = 3;
        let app = start(config).await;
        let client = app.client();
        let input = FanOutInput { tag: tag(store), activity: "Unlimited".into(), count: 8 };
        let fan_out = client.start(FanOutTo, None, input).await.unwrap();
        Gate::of(&tag(store)).release_all(8, 3).await;
        let status = client.wait_for_completion(&fan_out, DEADLINE).await.unwrap();
        assert_eq!((status.runtime_status, status.output), (Completed, json!(28)));
        app.shutdown().await;
    });
}

fn the_global_orchestrator_limit_holds(store: &TestStore) {
    // Turns block their thread in the gate: enough threads that the limit, not the
    // runtime, is what keeps more from running (`block_in_place` adds threads as needed).
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut config = store.config();
        config.worker.max_concurrent_orchestrator_functions = 2;
        let app = start(config).await;
        let client = app.client();
        let mut ids = Vec::new();
        for _ in 0..6 {
            ids.push(client.start(BlocksAfterGo, None, tag(store)).await.unwrap());
        }
        for id in &ids {
            client.raise_event(id, "go", ()).await.unwrap();
        }
        Gate::of(&tag(store)).release_all(ids.len(), 2).await;
        for id in &ids {
            let status = client.wait_for_completion(id, DEADLINE).await.unwrap();
            assert_eq!(status.runtime_status, Completed);
        }
        app.shutdown().await;
    });
}

durable_tests::on_both_stores!(
    an_activity_limit_holds_while_others_flow,
    a_host_json_limit_holds_while_others_flow,
    host_json_overrides_the_attribute,
    the_global_activity_limit_holds,
    the_global_orchestrator_limit_holds,
);
