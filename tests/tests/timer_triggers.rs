//! Timer-triggered client functions on virtual time: a six-field NCRONTAB schedule fires at
//! its occurrences and not between them, and its client starts orchestrations.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use durable::app::HostConfig;
use durable::prelude::*;
use durable::testing::TestHost;
use durable_tests::wait_for;

/// Every five minutes, on the minute: starts `Tick` under an id naming the occurrence.
#[orchestration_client]
#[timer_trigger(name = "EveryFiveMinutes", schedule = "0 */5 * * * *")]
async fn every_five_minutes(
    timer: TimerInfo,
    starter: DurableOrchestrationClient,
) -> Result<(), DurableError> {
    let last = timer.schedule_status.last;
    let id = format!("tick-{}", last.format("%H%M%S"));
    starter.start_new("Tick", Some(&id), last.to_rfc3339()).await?;
    Ok(())
}

/// Returns its input: when the timer that started it was due.
#[orchestration_trigger(name = "Tick")]
async fn tick(_context: DurableOrchestrationContext, scheduled: String) -> String {
    scheduled
}

async fn ticks(host: &TestHost) -> Vec<String> {
    let page = host
        .client()
        .list_instances(&durable::OrchestrationStatusQueryCondition {
            instance_id_prefix: Some("tick-".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut ids: Vec<String> =
        page.durable_orchestration_state.into_iter().map(|s| s.instance_id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_schedule_fires_at_its_occurrences_and_not_between() {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 10, 2, 30).unwrap();
    let mut config = HostConfig::default();
    config.http.listen = None;
    let host = TestHost::start_with(config, start).await.unwrap();

    host.advance_to(Utc.with_ymd_and_hms(2026, 3, 1, 10, 4, 59).unwrap()).await.unwrap();
    assert!(ticks(&host).await.is_empty(), "nothing is due before 10:05");

    host.advance_to(Utc.with_ymd_and_hms(2026, 3, 1, 10, 5, 0).unwrap()).await.unwrap();
    let fired = wait_for("the 10:05 run", Duration::from_secs(10), || async {
        let ids = ticks(&host).await;
        (!ids.is_empty()).then_some(ids)
    })
    .await;
    assert_eq!(fired, ["tick-100500"]);

    host.advance_to(Utc.with_ymd_and_hms(2026, 3, 1, 10, 10, 0).unwrap()).await.unwrap();
    let fired = wait_for("the 10:10 run", Duration::from_secs(10), || async {
        let ids = ticks(&host).await;
        (ids.len() == 2).then_some(ids)
    })
    .await;
    assert_eq!(fired, ["tick-100500", "tick-101000"]);
    let status =
        host.client().wait_for_completion("tick-101000", Duration::from_secs(10)).await.unwrap();
    assert_eq!(status.output, "2026-03-01T10:10:00+00:00");
    host.shutdown().await;
}
