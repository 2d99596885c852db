//! The ported samples that wait: the weather monitor (E3), phone verification (E4), the
//! approval workflow, the periodic cleanup loop, device provisioning with retries, and the SMS
//! reminder, run on the virtual-time test host so that hours and days pass in milliseconds.
//!
//! The samples' stand-ins (weather, outbox, device registry) are process-global, and the
//! tests of this file run in parallel: each test uses its own locations, phone numbers,
//! fleets, devices and instance ids.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use durable::DurableOrchestrationStatus;
use durable::OrchestrationRuntimeStatus::{Completed, Failed, Running, Terminated};
use durable::history::{EventKind, HistoryEvent};
use durable::testing::TestHost;
use durable_examples::approval_workflow::{
    APPROVAL_TIMEOUT, APPROVER, ApprovalOutcome, AwaitingApproval, MANAGER,
};
use durable_examples::device_provisioning::{
    PACKAGE_ATTEMPTS, PACKAGE_RETRY_INTERVAL, PROVISIONING_RETRY_INTERVAL, add_new_devices,
    fail_package_builds, provisioning_instance_id,
};
use durable_examples::monitor::{Location, set_weather};
use durable_examples::outbox::messages_to;
use durable_examples::periodic_cleanup::cleanups_by;
use durable_examples::sms_reminder::reminder_recipient;
use serde_json::{Value, json};

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
/// Real time allowed for an instance to finish once it has nothing left to wait for.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A fixed virtual start, far from real time, so that a real timestamp would stand out.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

fn at(offset: Duration) -> DateTime<Utc> {
    t0() + chrono::Duration::from_std(offset).unwrap()
}

async fn host() -> TestHost {
    TestHost::start_at(t0()).await.unwrap()
}

async fn status_and_history(
    host: &TestHost,
    id: &str,
) -> (DurableOrchestrationStatus, Vec<HistoryEvent>) {
    let mut status = host
        .client()
        .get_status_with_history(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no instance {id}"));
    let history = status.history.take().unwrap();
    (status, history)
}

/// The event types, less `OrchestratorStarted`.
fn event_types(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.kind.type_name()).filter(|t| *t != "OrchestratorStarted").collect()
}

fn count(history: &[HistoryEvent], event_type: &str) -> usize {
    history.iter().filter(|e| e.kind.type_name() == event_type).count()
}

/// Where `event_type` occurs in the history, in order.
fn positions(history: &[HistoryEvent], event_type: &str) -> Vec<usize> {
    history
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind.type_name() == event_type)
        .map(|(i, _)| i)
        .collect()
}

fn activities_scheduled(history: &[HistoryEvent], activity: &str) -> Vec<Value> {
    history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskScheduled { name, input } if name == activity => Some(input.clone()),
            _ => None,
        })
        .collect()
}

fn timers_created(history: &[HistoryEvent]) -> Vec<DateTime<Utc>> {
    history
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::TimerCreated { fire_at } => Some(fire_at),
            _ => None,
        })
        .collect()
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

fn failure_messages(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskFailed { failure_details, .. }
            | EventKind::SubOrchestrationInstanceFailed { failure_details, .. } => {
                Some(failure_details.error_message.clone())
            }
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// E3_Monitor

fn location(city: &str) -> Location {
    Location { state: "WA".to_owned(), city: city.to_owned() }
}

fn monitor_request(location: &Location, phone: &str) -> Value {
    json!({
        "Location": { "State": location.state, "City": location.city },
        "Phone": phone,
    })
}

const GOOD_WEATHER: &str = "The weather's clear outside! Go take a walk!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_polls_every_30_minutes_and_texts_once_the_weather_clears() {
    let host = host().await;
    let client = host.client();
    let redmond = location("Redmond (clears)");
    let phone = "+1 425 555 0101";
    set_weather(&redmond, "Light Rain");
    let id = client
        .start_new("E3_Monitor", Some("monitor-clears"), monitor_request(&redmond, phone))
        .await
        .unwrap();

    host.wait_for_idle().await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(
        activities_scheduled(&history, "E3_GetIsClear"),
        [json!({ "State": "WA", "City": "Redmond (clears)" })]
    );
    assert_eq!(timers_created(&history), [at(30 * MINUTE)]);

    // Nothing happens before the checkpoint is due.
    host.advance(29 * MINUTE).await.unwrap();
    let (_, history) = status_and_history(&host, &id).await;
    assert_eq!(activities_scheduled(&history, "E3_GetIsClear").len(), 1);
    host.advance(MINUTE).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(activities_scheduled(&history, "E3_GetIsClear").len(), 2);
    assert!(messages_to(phone).is_empty(), "texted in the rain");

    set_weather(&redmond, "Mostly Cloudy");
    host.advance(30 * MINUTE).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    assert_eq!(status.output, Value::Null);
    assert_eq!(status.last_updated_time, at(HOUR));
    assert_eq!(messages_to(phone), [GOOD_WEATHER]);
    assert_eq!(timers_fired(&history), [at(30 * MINUTE), at(HOUR)]);
    assert_eq!(
        event_types(&history),
        [
            "ExecutionStarted",
            "TaskScheduled", // E3_GetIsClear: rain
            "TaskCompleted",
            "TimerCreated",
            "TimerFired",
            "TaskScheduled", // E3_GetIsClear: rain
            "TaskCompleted",
            "TimerCreated",
            "TimerFired",
            "TaskScheduled", // E3_GetIsClear: clear
            "TaskCompleted",
            "TaskScheduled", // E3_SendGoodWeatherAlert
            "TaskCompleted",
            "ExecutionCompleted",
        ]
    );
    assert_eq!(activities_scheduled(&history, "E3_SendGoodWeatherAlert"), [json!(phone)]);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_expires_six_hours_after_it_started() {
    let host = host().await;
    let client = host.client();
    let seattle = location("Seattle (rains)");
    let phone = "+1 206 555 0102";
    set_weather(&seattle, "Rain Showers");
    let id = client.start_new("E3_Monitor", None, monitor_request(&seattle, phone)).await.unwrap();

    host.advance(6 * HOUR - MINUTE).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(timers_fired(&history).len(), 11);

    host.advance(MINUTE).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    assert_eq!(status.last_updated_time, at(6 * HOUR));
    let checkpoints: Vec<DateTime<Utc>> = (1..=12).map(|n| at(n * 30 * MINUTE)).collect();
    assert_eq!(timers_fired(&history), checkpoints);
    assert_eq!(activities_scheduled(&history, "E3_GetIsClear").len(), 12);
    assert!(activities_scheduled(&history, "E3_SendGoodWeatherAlert").is_empty());
    assert!(messages_to(phone).is_empty());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_refuses_an_incomplete_request() {
    let host = host().await;
    let client = host.client();

    let no_location = json!({ "Phone": "+1 206 555 0103" });
    let err =
        client.start_new("E3_Monitor", Some("monitor-no-location"), no_location).await.unwrap_err();
    assert!(err.to_string().contains("missing field `Location`"), "{err}");
    assert!(client.get_status("monitor-no-location").await.unwrap().is_none());

    let no_phone = monitor_request(&location("Tacoma"), " ");
    let id = client.start_new("E3_Monitor", None, no_phone).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Failed);
    assert!(
        status.output.as_str().unwrap().contains("a phone number input is required"),
        "{}",
        status.output
    );
    host.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// E4_SmsPhoneVerification

/// The code texted to `phone`, read from the outbox.
fn challenge_code(phone: &str) -> u16 {
    let messages = messages_to(phone);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let code = messages[0]
        .strip_prefix("Your verification code is ")
        .unwrap_or_else(|| panic!("not a challenge: {}", messages[0]));
    assert_eq!(code.len(), 4, "{code}");
    code.parse().unwrap()
}

fn wrong(code: u16, n: u16) -> u16 {
    (code + n) % 10_000
}

async fn start_verification(host: &TestHost, phone: &str) -> (String, u16) {
    let id = host.client().start_new("E4_SmsPhoneVerification", None, phone).await.unwrap();
    host.wait_for_idle().await.unwrap();
    (id, challenge_code(phone))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_verification_accepts_the_right_code_after_a_wrong_one() {
    let host = host().await;
    let client = host.client();
    let (id, code) = start_verification(&host, "+1 425 555 0104").await;

    client.raise_event(&id, "SmsChallengeResponse", wrong(code, 1)).await.unwrap();
    host.wait_for_idle().await.unwrap();
    let (status, _) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running, "a wrong code ended it");

    host.advance(30 * SECOND).await.unwrap();
    client.raise_event(&id, "SmsChallengeResponse", code).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    assert_eq!(status.output, json!(true));
    assert_eq!(status.last_updated_time, at(30 * SECOND));

    // The timeout lost the race: it never fires into the history, even once it is due.
    host.advance(2 * MINUTE).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed);
    assert_eq!(status.output, json!(true));
    assert_eq!(status.last_updated_time, at(30 * SECOND));
    assert_eq!(timers_created(&history), [at(90 * SECOND)]);
    assert!(timers_fired(&history).is_empty());
    assert_eq!(count(&history, "EventRaised"), 2);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_verification_fails_after_three_wrong_codes() {
    let host = host().await;
    let client = host.client();
    let (id, code) = start_verification(&host, "+1 425 555 0105").await;

    for n in 1..=3 {
        client.raise_event(&id, "SmsChallengeResponse", wrong(code, n)).await.unwrap();
    }
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    assert_eq!(status.output, json!(false));
    // Decided by the third wrong code, not by the timeout: no time passed.
    assert_eq!(status.last_updated_time, t0());
    let (_, history) = status_and_history(&host, &id).await;
    assert_eq!(count(&history, "EventRaised"), 3);
    assert!(timers_fired(&history).is_empty());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_verification_times_out_after_90_seconds() {
    let host = host().await;
    let (id, _) = start_verification(&host, "+1 425 555 0106").await;

    host.advance(89 * SECOND).await.unwrap();
    let (status, _) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running, "timed out early");

    host.advance(SECOND).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    assert_eq!(status.output, json!(false));
    assert_eq!(timers_fired(&history), [at(90 * SECOND)]);
    assert_eq!(
        event_types(&history),
        [
            "ExecutionStarted",
            "TaskScheduled", // E4_SendSmsChallenge
            "TaskCompleted",
            "TimerCreated",
            "TimerFired",
            "ExecutionCompleted",
        ]
    );
    host.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// ApprovalWorkflow

/// The messages to `recipient` that name instance `id`.
fn messages_about(recipient: &str, id: &str) -> Vec<String> {
    messages_to(recipient).into_iter().filter(|m| m.contains(&format!("instance {id}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_in_time_is_processed_without_escalation() {
    let host = host().await;
    let client = host.client();
    let id = client.start_new("ApprovalWorkflow", None, "purchase order 17").await.unwrap();

    host.wait_for_idle().await.unwrap();
    let asked = messages_about(APPROVER, &id);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains("purchase order 17"), "{}", asked[0]);
    let due = t0() + APPROVAL_TIMEOUT;
    let (status, _) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(
        status.custom_status,
        serde_json::to_value(AwaitingApproval { approver: APPROVER.to_owned(), due_time: due })
            .unwrap()
    );
    assert_eq!(status.custom_status["dueTime"], json!(due));

    host.advance(71 * HOUR).await.unwrap();
    client.raise_event(&id, "ApprovalEvent", true).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    assert_eq!(status.output_as::<ApprovalOutcome>().unwrap(), ApprovalOutcome::Approved);
    assert_eq!(status.last_updated_time, at(71 * HOUR));

    // The deadline passing later changes nothing: no escalation, no timer in the history.
    host.advance(2 * HOUR).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed);
    assert_eq!(status.output, json!("Approved"));
    assert_eq!(status.last_updated_time, at(71 * HOUR));
    assert_eq!(
        activities_scheduled(&history, "ProcessApproval"),
        [json!(["purchase order 17", true])]
    );
    assert!(activities_scheduled(&history, "Escalate").is_empty());
    assert!(timers_fired(&history).is_empty());
    assert!(messages_about(MANAGER, &id).is_empty());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_in_time_is_processed_too() {
    let host = host().await;
    let client = host.client();
    let id = client.start_new("ApprovalWorkflow", None, "purchase order 18").await.unwrap();
    host.wait_for_idle().await.unwrap();
    client.raise_event(&id, "ApprovalEvent", false).await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.output, json!("Rejected"));
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_escalates_after_72_hours_without_a_decision() {
    let host = host().await;
    let client = host.client();
    let id = client.start_new("ApprovalWorkflow", None, "purchase order 19").await.unwrap();

    host.advance(72 * HOUR - SECOND).await.unwrap();
    let (status, _) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert!(messages_about(MANAGER, &id).is_empty(), "escalated early");

    host.advance(SECOND).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    assert_eq!(status.output, json!("Escalated"));
    assert_eq!(timers_fired(&history), [at(72 * HOUR)]);
    assert_eq!(activities_scheduled(&history, "Escalate"), [json!("purchase order 19")]);
    assert!(activities_scheduled(&history, "ProcessApproval").is_empty());
    let escalated = messages_about(MANAGER, &id);
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert!(escalated[0].contains("purchase order 19"), "{}", escalated[0]);
    host.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Periodic_Cleanup_Loop

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_loop_runs_hourly_as_fresh_executions_until_terminated() {
    let host = host().await;
    let client = host.client();
    let id = client.start_new("Periodic_Cleanup_Loop", Some("cleanup-loop"), ()).await.unwrap();

    host.wait_for_idle().await.unwrap();
    assert_eq!(cleanups_by(&id), 1);
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(
        event_types(&history),
        ["ExecutionStarted", "TaskScheduled", "TaskCompleted", "TimerCreated"]
    );
    assert_eq!(timers_created(&history), [at(HOUR)]);

    host.advance(59 * MINUTE).await.unwrap();
    assert_eq!(cleanups_by(&id), 1, "cleaned up early");
    host.advance(MINUTE).await.unwrap();
    assert_eq!(cleanups_by(&id), 2);

    // Each round is a new execution: the history holds only the current one.
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(
        event_types(&history),
        ["ExecutionStarted", "TaskScheduled", "TaskCompleted", "TimerCreated"]
    );
    assert_eq!(history[0].timestamp, at(HOUR));
    assert_eq!(timers_created(&history), [at(2 * HOUR)]);

    host.advance(2 * HOUR).await.unwrap();
    assert_eq!(cleanups_by(&id), 4);
    let (_, history) = status_and_history(&host, &id).await;
    assert_eq!(timers_created(&history), [at(4 * HOUR)]);

    client.terminate(&id, "maintenance over").await.unwrap();
    let status = client.wait_for_completion(&id, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Terminated);
    host.advance(3 * HOUR).await.unwrap();
    assert_eq!(cleanups_by(&id), 4, "cleaned up after termination");
    host.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// ProvisionNewDevices / DeviceProvisioningOrchestration

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_retries_failed_packages_and_failed_children() {
    let host = host().await;
    let client = host.client();
    let devices = ["retry-ok", "retry-flaky", "retry-broken"];
    add_new_devices("fleet-retry", &devices);
    // One failure the child's own retry absorbs; one failure per attempt the child has, so
    // the first child fails and the parent starts it again.
    fail_package_builds("retry-flaky", 1);
    fail_package_builds("retry-broken", PACKAGE_ATTEMPTS);
    let parent =
        client.start_new("ProvisionNewDevices", Some("provision"), "fleet-retry").await.unwrap();
    let child = |device: &str| provisioning_instance_id(&parent, device);

    // The broken device's child fails at its third build, two package retries in; the parent
    // retries it a minute later, and not before.
    let child_failed_at = 2 * PACKAGE_RETRY_INTERVAL;
    let parent_retry_at = child_failed_at + PROVISIONING_RETRY_INTERVAL;
    host.advance(parent_retry_at - SECOND).await.unwrap();
    let (broken, _) = status_and_history(&host, &child("retry-broken")).await;
    assert_eq!(broken.runtime_status, Failed);
    let (status, history) = status_and_history(&host, &parent).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(count(&history, "SubOrchestrationInstanceCreated"), 3);
    assert_eq!(count(&history, "SubOrchestrationInstanceFailed"), 1);
    assert_eq!(timers_created(&history), [at(parent_retry_at)]);
    assert!(timers_fired(&history).is_empty());

    host.advance(SECOND).await.unwrap();
    // Every child now waits for its device to acknowledge the download.
    for device in devices {
        let (status, history) = status_and_history(&host, &child(device)).await;
        assert_eq!(status.runtime_status, Running, "{device}");
        assert_eq!(status.input, json!(device));
        assert_eq!(count(&history, "TaskCompleted"), 2, "{device}");
        let sent = messages_to(device);
        assert_eq!(sent.len(), 1, "{device}: {sent:?}");
        assert!(sent[0].contains(device), "{}", sent[0]);
        client.raise_event(&child(device), "DownloadCompletedAck", true).await.unwrap();
    }
    let status = client.wait_for_completion(&parent, TIMEOUT).await.unwrap();
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    let urls: Vec<String> = status.output_as().unwrap();
    assert_eq!(
        urls,
        devices.iter().map(|device| messages_to(device)[0].clone()).collect::<Vec<_>>()
    );

    // The parent's history: one child failed, a durable timer, the child started again.
    let (_, history) = status_and_history(&host, &parent).await;
    assert_eq!(count(&history, "SubOrchestrationInstanceCreated"), 4);
    assert_eq!(count(&history, "SubOrchestrationInstanceCompleted"), 3);
    let failed = positions(&history, "SubOrchestrationInstanceFailed");
    let fired = positions(&history, "TimerFired");
    let created = positions(&history, "SubOrchestrationInstanceCreated");
    assert_eq!((failed.len(), fired.len()), (1, 1));
    assert!(failed[0] < fired[0] && fired[0] < created[3], "{history:#?}");
    assert_eq!(timers_fired(&history), [at(parent_retry_at)]);
    let messages = failure_messages(&history);
    assert!(messages[0].contains("the package store is unavailable"), "{messages:?}");

    // The flaky device's child: a failed build, a durable timer, a successful build.
    let (_, history) = status_and_history(&host, &child("retry-flaky")).await;
    assert_eq!(
        event_types(&history),
        [
            "ExecutionStarted",
            "TaskScheduled", // CreateInstallationPackage
            "TaskFailed",
            "TimerCreated",
            "TimerFired",
            "TaskScheduled", // CreateInstallationPackage
            "TaskCompleted",
            "TaskScheduled", // SendPackageUrlToDevice
            "TaskCompleted",
            "EventRaised",
            "ExecutionCompleted",
        ]
    );
    assert_eq!(timers_fired(&history), [at(PACKAGE_RETRY_INTERVAL)]);

    // The broken device's second child, in place of the first, built its package at once.
    let (_, history) = status_and_history(&host, &child("retry-broken")).await;
    assert_eq!(history[0].timestamp, at(parent_retry_at));
    assert_eq!(count(&history, "TaskFailed"), 0);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_fails_once_every_retry_failed() {
    let host = host().await;
    let client = host.client();
    add_new_devices("fleet-doomed", &["doomed"]);
    fail_package_builds("doomed", u32::MAX);
    let parent = client
        .start_new("ProvisionNewDevices", Some("provision-doomed"), "fleet-doomed")
        .await
        .unwrap();

    host.advance(10 * MINUTE).await.unwrap();
    let (status, history) = status_and_history(&host, &parent).await;
    assert_eq!(status.runtime_status, Failed);
    let output = status.output.as_str().unwrap();
    assert!(output.contains("DeviceProvisioningOrchestration"), "{output}");
    assert!(output.contains("the package store is unavailable"), "{output}");
    assert_eq!(count(&history, "SubOrchestrationInstanceCreated"), 2);
    assert_eq!(count(&history, "SubOrchestrationInstanceFailed"), 2);
    assert_eq!(count(&history, "TimerFired"), 1);

    let (_, history) =
        status_and_history(&host, &provisioning_instance_id(&parent, "doomed")).await;
    assert_eq!(count(&history, "TaskFailed"), 3);
    assert_eq!(count(&history, "TimerFired"), 2);
    assert!(messages_to("doomed").is_empty());
    host.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// SetReminder

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminder_is_texted_after_24_hours_and_not_before() {
    let host = host().await;
    let client = host.client();
    let task = "the expense report (reminder test)";
    let reminder = format!("Make sure to finish {task}");
    let sent = || messages_to(&reminder_recipient()).into_iter().filter(|m| *m == reminder).count();
    let id = client.start_new("SetReminder", None, task).await.unwrap();

    host.advance(24 * HOUR - MINUTE).await.unwrap();
    let (status, _) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Running);
    assert_eq!(sent(), 0, "reminded early");

    host.advance(MINUTE).await.unwrap();
    let (status, history) = status_and_history(&host, &id).await;
    assert_eq!(status.runtime_status, Completed, "{}", status.output);
    assert_eq!(sent(), 1);
    assert_eq!(timers_fired(&history), [at(24 * HOUR)]);
    assert_eq!(
        event_types(&history),
        [
            "ExecutionStarted",
            "TimerCreated",
            "TimerFired",
            "TaskScheduled",
            "TaskCompleted",
            "ExecutionCompleted",
        ]
    );
    host.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The CLI

fn samples(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_durable-samples"))
        .args(args)
        .current_dir(dir)
        .env("DURABLE_DB", dir.join("durable.db"))
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_cli_runs_the_monitor_and_provisioning_samples() {
    let dir = tempfile::tempdir().unwrap();
    // The stand-in weather is clear where nobody set it, so the monitor texts at once.
    let request = r#"{"Location": {"State": "WA", "City": "Redmond"}, "Phone": "+1 425 555 0100"}"#;
    let output = samples(dir.path(), &["start", "E3_Monitor", "--input", request]);
    assert_eq!(stdout_json(&output), Value::Null);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains(GOOD_WEATHER), "{log}");

    // A fleet nobody registered has no new devices.
    let output = samples(dir.path(), &["start", "ProvisionNewDevices", "--input", r#""fleet-1""#]);
    assert_eq!(stdout_json(&output), json!([]));
}
