//! The test host with virtual time: a 72-hour timer and a six-hour monitor run in
//! milliseconds, in order, with virtual timestamps everywhere; an app that does not settle
//! fails the wait instead of hanging it.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use durable::OrchestrationRuntimeStatus::{Completed, Running};
use durable::history::{EventKind, HistoryEvent};
use durable::prelude::*;
use durable::testing::TestHost;
use serde_json::{Value, json};

const HOUR: Duration = Duration::from_secs(3600);

#[activity_trigger(name = "VtNotify")]
async fn vt_notify(request: String) -> String {
    format!("notified about {request}")
}

/// Waits 72 hours, then calls an activity; reports the times it saw.
#[orchestration_trigger(name = "VtEscalate")]
async fn vt_escalate(
    context: DurableOrchestrationContext,
    request: String,
) -> Result<Value, FunctionFailed> {
    let started = context.current_utc_date_time();
    context.create_timer(started + chrono::Duration::hours(72)).await?;
    let fired = context.current_utc_date_time();
    let note = context.call(VtNotify, request).await?;
    Ok(json!({ "started": started, "fired": fired, "note": note }))
}

#[activity_trigger(name = "VtCheck")]
async fn vt_check(poll: u32) -> u32 {
    poll
}

/// Polls every 30 minutes for six hours (the Monitor sample's shape); returns when each poll
/// ran.
#[orchestration_trigger(name = "VtMonitor")]
async fn vt_monitor(
    context: DurableOrchestrationContext,
) -> Result<Vec<DateTime<Utc>>, FunctionFailed> {
    let mut polled_at = Vec::new();
    for poll in 0..12u32 {
        let next = context.current_utc_date_time() + chrono::Duration::minutes(30);
        context.create_timer(next).await?;
        polled_at.push(context.current_utc_date_time());
        context.call(VtCheck, poll).await?;
    }
    Ok(polled_at)
}

static GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

#[activity_trigger(name = "VtWaitForGate")]
async fn vt_wait_for_gate() -> Result<(), String> {
    let permit = GATE.acquire().await.map_err(|e| e.to_string())?;
    drop(permit);
    Ok(())
}

#[orchestration_trigger(name = "VtGated")]
async fn vt_gated(context: DurableOrchestrationContext) -> Result<(), FunctionFailed> {
    context.call(VtWaitForGate, ()).await
}

/// A fixed virtual start, far from real time, so that a real timestamp would stand out.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 2, 3, 8, 0, 0).unwrap()
}

fn hours(n: i64) -> chrono::Duration {
    chrono::Duration::hours(n)
}

async fn status_and_history(
    host: &TestHost,
    id: &str,
) -> (DurableOrchestrationStatus, Vec<HistoryEvent>) {
    let mut status = host.client().get_status_with_history(id).await.unwrap().unwrap();
    let history = status.history.take().unwrap();
    (status, history)
}

fn timers_fired(history: &[HistoryEvent]) -> Vec<DateTime<Utc>> {
    history
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::TimerFired { fire_at, .. } => Some(fire_at),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_72_hour_timer_fires_when_virtual_time_reaches_it() {
    let host = TestHost::start_at(start()).await.unwrap();
    let client = host.client();
    let real = Instant::now();
    let id = client.start(VtEscalate, None, "order 17".to_owned()).await.unwrap();

    host.advance(71 * HOUR).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running, "fired an hour early");
    assert!(timers_fired(&history).is_empty());
    assert_eq!(host.now(), start() + hours(71));

    host.advance(HOUR).await.unwrap();
    let elapsed = real.elapsed();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed, "{:?}", status.output);
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?} of real time");

    // The orchestrator saw virtual time, and so did every timestamp.
    let due = start() + hours(72);
    assert_eq!(
        status.output,
        json!({ "started": start(), "fired": due, "note": "notified about order 17" })
    );
    assert_eq!(status.created_time, start());
    assert_eq!(status.last_updated_time, due);
    let created: Vec<_> =
        history.iter().filter(|e| matches!(e.kind, EventKind::TimerCreated { .. })).collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].timestamp, start());
    assert_eq!(created[0].kind, EventKind::TimerCreated { fire_at: due });
    assert_eq!(timers_fired(&history), vec![due]);
    assert!(
        history.iter().all(|e| e.timestamp >= start() && e.timestamp <= due),
        "a timestamp outside virtual time: {history:#?}"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_six_hour_monitor_fires_its_twelve_timers_in_order() {
    let host = TestHost::start_at(start()).await.unwrap();
    let client = host.client();
    let id = client.start(VtMonitor, None, json!(null)).await.unwrap();
    let expected: Vec<DateTime<Utc>> =
        (1..=12).map(|n| start() + chrono::Duration::minutes(30 * n)).collect();

    host.advance(3 * HOUR).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(timers_fired(&history), expected[..6]);

    host.advance(3 * HOUR).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed, "{:?}", status.output);
    assert_eq!(timers_fired(&history), expected);
    assert_eq!(
        status.output_as::<Vec<DateTime<Utc>>>().unwrap(),
        expected,
        "each poll ran at its timer's time"
    );
    let checks =
        history.iter().filter(|e| matches!(e.kind, EventKind::TaskCompleted { .. })).count();
    assert_eq!(checks, 12);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_virtual_clock_starts_at_real_time_and_moves_only_when_advanced() {
    let before = Utc::now();
    let host = TestHost::start().await.unwrap();
    let at_start = host.now();
    assert!(at_start >= before && at_start <= Utc::now());
    host.wait_for_idle().await.unwrap();
    assert_eq!(host.now(), at_start, "waiting moved the clock");

    let id = host.client().start(VtEscalate, None, "x".to_owned()).await.unwrap();
    host.advance(72 * HOUR).await.unwrap();
    assert_eq!(host.now(), at_start + hours(72));
    let (status, _) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed);
    assert_eq!(status.output["started"], json!(at_start));

    let back = host.advance_to(at_start).await.err().unwrap();
    assert!(matches!(back, durable::Error::Clock(_)), "moving back: {back}");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_does_not_settle_fails_the_wait_instead_of_hanging() {
    let host =
        TestHost::start_at(start()).await.unwrap().with_idle_timeout(Duration::from_millis(300));
    let id = host.client().start(VtGated, None, json!(null)).await.unwrap();
    let error = host.wait_for_idle().await.err().unwrap();
    assert!(matches!(error, durable::Error::NotIdle { .. }), "{error}");
    assert!(error.to_string().contains("VtWaitForGate"), "{error}");
    assert_eq!(host.now(), start(), "a failed wait does not move time");

    GATE.add_permits(1);
    host.wait_for_idle().await.unwrap();
    let (status, _) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed);
    host.shutdown().await;
}

/// Records one `new_guid` per execution, continuing as new until it has three.
#[orchestration_trigger(name = "VtGuidPerExecution")]
async fn vt_guid_per_execution(
    context: DurableOrchestrationContext,
    mut guids: Vec<String>,
) -> Result<Vec<String>, FunctionFailed> {
    guids.push(context.new_guid().to_string());
    if guids.len() < 3 {
        context.continue_as_new(guids.clone(), false);
    }
    Ok(guids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_guid_differs_between_executions_that_share_a_timestamp() {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let host = TestHost::start_at(start).await.unwrap();
    let client = host.client();
    let id = client.start_new("VtGuidPerExecution", None, Vec::<String>::new()).await.unwrap();
    host.wait_for_idle().await.unwrap();
    let done = client.get_status(&id).await.unwrap().unwrap();
    assert_eq!(done.runtime_status, Completed);
    // The clock never moved, so every execution's turn had the same time.
    assert_eq!(done.last_updated_time, start);
    let guids: Vec<String> = done.output_as().unwrap();
    assert_eq!(guids.len(), 3);
    assert!(guids[0] != guids[1] && guids[1] != guids[2] && guids[0] != guids[2], "{guids:?}");
    host.shutdown().await;
}
