//! Replay-safe logging: what orchestrator code logs through `tracing` appears once, even when
//! the instance is replayed from history before every step.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable::OrchestrationRuntimeStatus::Completed;
use durable::prelude::*;
use durable_tests::{start_app, wait_for};
use tracing_subscriber::prelude::*;

#[orchestration_trigger(name = "Log_Steps")]
async fn log_steps(context: DurableOrchestrationContext) -> Result<u32, FunctionFailed> {
    tracing::info!("orchestration started");
    for step in 1..=3 {
        context.wait_for_external_event::<()>("Next").await?;
        tracing::info!(step, "orchestration reached a step");
        context.set_custom_status(step);
    }
    Ok(3)
}

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Sink {
    fn count(&self, text: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap()).matches(text).count()
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
async fn orchestrator_log_lines_appear_once_despite_replays() {
    let replay_safe = Sink::default();
    let everything = Sink::default();
    let (a, b) = (replay_safe.clone(), everything.clone());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || a.clone())
                .with_filter(durable::logging::replay_safe()),
        )
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(move || b.clone()))
        .init();

    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path()).await;
    let client = app.client();
    let id = client.start_new("Log_Steps", None, ()).await.unwrap();
    for step in 1..=3 {
        // Drop the live instance so that this step starts by replaying its history.
        app.clear_instance_cache();
        client.raise_event(&id, "Next", ()).await.unwrap();
        wait_for(&format!("step {step}"), Duration::from_secs(30), || async {
            let status = client.get_status(&id).await.unwrap().unwrap();
            (status.custom_status == step).then_some(())
        })
        .await;
    }
    let done = client.wait_for_completion(&id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(done.runtime_status, Completed);
    assert!(app.stats().replays >= 3, "{:?}", app.stats());

    assert_eq!(replay_safe.count("orchestration started"), 1);
    assert_eq!(replay_safe.count("orchestration reached a step"), 3);
    for step in 1..=3 {
        assert_eq!(replay_safe.count(&format!("step={step}")), 1);
    }
    // Without the filter, the replays repeat the lines.
    assert_eq!(everything.count("orchestration started"), 4);
    assert_eq!(everything.count("orchestration reached a step"), 1 + 2 + 3);
    app.shutdown().await;
}
