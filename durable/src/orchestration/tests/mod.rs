//! Pure engine tests: hand-built histories replayed without a store.

mod misuse;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::engine::{OrchestrationRun, Outcome, Turn};
use super::{DurableOrchestrationContext, OrchestratorRegistration, when_all, when_any};
use crate::function::{BoxFuture, FunctionResult};
use crate::history::{EventKind, FailureDetails, HistoryEvent, Limits, OrchestrationRuntimeStatus};

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000, 0).single().unwrap_or_default() + Duration::seconds(seconds)
}

fn started(input: Value) -> HistoryEvent {
    HistoryEvent::new(
        t(0),
        EventKind::ExecutionStarted {
            name: "test".into(),
            execution_id: "exec-1".into(),
            input,
            version: String::new(),
            parent_instance: None,
            trace_context: None,
        },
    )
}

fn orchestrator_started(at: i64) -> HistoryEvent {
    HistoryEvent::new(t(at), EventKind::OrchestratorStarted {})
}

fn scheduled(event_id: i64, name: &str, input: Value) -> HistoryEvent {
    HistoryEvent {
        event_id,
        timestamp: t(0),
        kind: EventKind::TaskScheduled { name: name.into(), input },
    }
}

fn completed(id: i64, result: Value) -> HistoryEvent {
    HistoryEvent::new(t(1), EventKind::TaskCompleted { task_scheduled_id: id, result })
}

fn failed(id: i64, message: &str) -> HistoryEvent {
    HistoryEvent::new(
        t(1),
        EventKind::TaskFailed {
            task_scheduled_id: id,
            failure_details: FailureDetails::new("ActivityError", message),
        },
    )
}

fn to_json(value: impl serde::Serialize) -> FunctionResult {
    serde_json::to_value(value).map_err(|e| FailureDetails::new("InvalidOutput", e.to_string()))
}

fn sequence(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let mut outputs = Vec::new();
        for city in ["Tokyo", "Seattle", "London"] {
            let greeting =
                context.call_activity::<String>("SayHello", city).await.map_err(|e| e.details)?;
            outputs.push(greeting);
        }
        to_json(outputs)
    })
}

static SEQUENCE: OrchestratorRegistration = OrchestratorRegistration {
    name: "Sequence",
    rust_path: "tests::sequence",
    invoke: sequence,
    validate_input: None,
};

fn run(registration: &'static OrchestratorRegistration) -> OrchestrationRun {
    OrchestrationRun::new(registration, "instance-1", Limits::default())
}

fn scheduled_names(turn: &Turn) -> Vec<String> {
    turn.activities.iter().map(|a| a.name.to_string()).collect()
}

fn kinds(turn: &Turn) -> Vec<&'static str> {
    turn.new_events.iter().map(|e| e.kind.type_name()).collect()
}

#[test]
fn first_turn_records_start_and_schedules_the_first_call() {
    let mut run = run(&SEQUENCE);
    let turn = run.turn(t(0), vec![started(Value::Null)]);
    assert_eq!(kinds(&turn), ["OrchestratorStarted", "ExecutionStarted", "TaskScheduled"]);
    assert_eq!(turn.new_events[2], scheduled(0, "SayHello", json!("Tokyo")));
    assert_eq!(turn.activities[0].event_id, 0);
    assert_eq!(turn.outcome, None);
    assert_eq!(turn.polls, 1);
}

#[test]
fn cached_run_applies_only_new_events_and_completes() {
    let mut run = run(&SEQUENCE);
    run.turn(t(0), vec![started(Value::Null)]);
    let turn = run.turn(t(2), vec![completed(0, json!("Hello Tokyo!"))]);
    assert_eq!(scheduled_names(&turn), ["SayHello"]);
    assert_eq!(turn.polls, 1);
    run.turn(t(3), vec![completed(1, json!("Hello Seattle!"))]);
    let last = run.turn(t(4), vec![completed(2, json!("Hello London!"))]);
    assert_eq!(
        last.outcome,
        Some(Outcome::Completed(json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])))
    );
    assert_eq!(kinds(&last).last(), Some(&"ExecutionCompleted"));
}

#[test]
fn replay_rebuilds_state_without_rescheduling_recorded_calls() {
    let history = vec![
        orchestrator_started(0),
        started(Value::Null),
        scheduled(0, "SayHello", json!("Tokyo")),
        orchestrator_started(1),
        completed(0, json!("Hello Tokyo!")),
        scheduled(1, "SayHello", json!("Seattle")),
    ];
    let mut run = run(&SEQUENCE);
    let replay_polls = run.replay(&history);
    assert_eq!(replay_polls, 2);
    let turn = run.turn(t(5), vec![completed(1, json!("Hello Seattle!"))]);
    assert_eq!(turn.new_events[2], scheduled(2, "SayHello", json!("London")).with_time(t(5)));
    assert_eq!(turn.activities.len(), 1);
}

trait WithTime {
    fn with_time(self, at: DateTime<Utc>) -> Self;
}

impl WithTime for HistoryEvent {
    fn with_time(mut self, at: DateTime<Utc>) -> Self {
        self.timestamp = at;
        self
    }
}

fn other_first(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let greeting =
            context.call_activity::<String>("SayGoodbye", "Tokyo").await.map_err(|e| e.details)?;
        to_json(greeting)
    })
}

static OTHER_FIRST: OrchestratorRegistration = OrchestratorRegistration {
    name: "OtherFirst",
    rust_path: "tests::other_first",
    invoke: other_first,
    validate_input: None,
};

fn failure_of(turn: &Turn) -> FailureDetails {
    match &turn.outcome {
        Some(Outcome::Failed(details)) => details.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_different_call_on_replay_fails_with_both_actions_named() {
    let history = vec![
        orchestrator_started(0),
        started(Value::Null),
        scheduled(0, "SayHello", json!("Tokyo")),
    ];
    let mut run = run(&OTHER_FIRST);
    run.replay(&history);
    let turn = run.turn(t(3), vec![completed(0, json!("Hello Tokyo!"))]);
    let failure = failure_of(&turn);
    assert_eq!(failure.error_type, "NonDeterminism");
    assert!(
        failure.error_message.contains("call_activity(\"SayHello\") as action #0")
            && failure.error_message.contains("call_activity(\"SayGoodbye\") as action #0"),
        "{}",
        failure.error_message
    );
    // Only the failed turn's own events are appended; no recorded event is repeated.
    assert_eq!(kinds(&turn), ["OrchestratorStarted", "ExecutionCompleted"]);
    assert!(turn.activities.is_empty());
}

fn stops_early(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let greeting =
            context.call_activity::<String>("SayHello", "Tokyo").await.map_err(|e| e.details)?;
        to_json(greeting)
    })
}

static STOPS_EARLY: OrchestratorRegistration = OrchestratorRegistration {
    name: "StopsEarly",
    rust_path: "tests::stops_early",
    invoke: stops_early,
    validate_input: None,
};

#[test]
fn a_missing_call_on_replay_is_nondeterministic() {
    let history = vec![
        orchestrator_started(0),
        started(Value::Null),
        scheduled(0, "SayHello", json!("Tokyo")),
        orchestrator_started(1),
        completed(0, json!("Hello Tokyo!")),
        scheduled(1, "SayHello", json!("Seattle")),
    ];
    let mut run = run(&STOPS_EARLY);
    run.replay(&history);
    let failure = failure_of(&run.turn(t(3), vec![]));
    assert!(failure.error_message.contains("now does nothing there"), "{}", failure.error_message);
}

fn catches(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        match context.call_activity::<String>("Flaky", ()).await {
            Ok(_) => to_json("no failure"),
            Err(failed) => {
                let compensated = context
                    .call_activity::<String>("Compensate", &failed.details.error_message)
                    .await
                    .map_err(|e| e.details)?;
                to_json(format!("{}|{compensated}", failed.function))
            }
        }
    })
}

static CATCHES: OrchestratorRegistration = OrchestratorRegistration {
    name: "Catches",
    rust_path: "tests::catches",
    invoke: catches,
    validate_input: None,
};

#[test]
fn a_failed_activity_reaches_the_orchestrator_which_can_compensate() {
    let mut run = run(&CATCHES);
    run.turn(t(0), vec![started(Value::Null)]);
    let turn = run.turn(t(1), vec![failed(0, "disk full")]);
    assert_eq!(turn.activities[0].input, json!("disk full"));
    let last = run.turn(t(2), vec![completed(1, json!("undone"))]);
    assert_eq!(last.outcome, Some(Outcome::Completed(json!("Flaky|undone"))));
}

fn panics(_context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move { panic!("orchestrator bug") })
}

static PANICS: OrchestratorRegistration = OrchestratorRegistration {
    name: "Panics",
    rust_path: "tests::panics",
    invoke: panics,
    validate_input: None,
};

#[test]
fn a_panic_fails_the_instance_with_its_message() {
    let mut run = run(&PANICS);
    let turn = run.turn(t(0), vec![started(Value::Null)]);
    let failure = failure_of(&turn);
    assert_eq!(
        (failure.error_type.as_str(), failure.error_message.as_str()),
        ("Panic", "orchestrator bug")
    );
    assert_eq!(turn.outcome.map(|o| o.status()), Some(OrchestrationRuntimeStatus::Failed));
}

fn fan_out(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let n: u64 =
            context.get_input().map_err(|e| FailureDetails::new("InvalidInput", e.to_string()))?;
        let tasks: Vec<_> = (0..n).map(|i| context.call_activity::<u64>("Double", i)).collect();
        let results = when_all(tasks).await.map_err(|e| e.details)?;
        to_json(results.iter().sum::<u64>())
    })
}

static FAN_OUT: OrchestratorRegistration = OrchestratorRegistration {
    name: "FanOut",
    rust_path: "tests::fan_out",
    invoke: fan_out,
    validate_input: None,
};

#[test]
fn fan_out_of_a_thousand_polls_once_per_completion() {
    let mut run = run(&FAN_OUT);
    let first = run.turn(t(0), vec![started(json!(1000))]);
    assert_eq!(first.activities.len(), 1000);
    let completions: Vec<_> = (0..1000).map(|i| completed(i, json!(i * 2))).collect();
    let turn = run.turn(t(1), completions);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!(999 * 1000))));
    // One poll per completion, plus at most a couple for the fan-out's cooperative yields.
    assert!(turn.polls <= 1003, "{} polls", turn.polls);
}

fn race(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let a = context.call_activity::<String>("A", ());
        let b = context.call_activity::<String>("B", ());
        let (winner, output) = when_any([a, b]).await;
        to_json((winner, output.map_err(|e| e.details)?))
    })
}

static RACE: OrchestratorRegistration = OrchestratorRegistration {
    name: "Race",
    rust_path: "tests::race",
    invoke: race,
    validate_input: None,
};

#[test]
fn when_any_returns_the_first_to_complete_in_event_order() {
    let mut run = run(&RACE);
    run.turn(t(0), vec![started(Value::Null)]);
    let turn = run.turn(t(1), vec![completed(1, json!("b")), completed(0, json!("a"))]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!([1, "b"]))));
}

fn clocks(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let first = (context.current_utc_date_time(), context.new_guid(), context.is_replaying());
        context.set_custom_status(json!({"step": 1}));
        let _ = context.call_activity::<()>("Step", ()).await;
        let second = (context.current_utc_date_time(), context.new_guid(), context.is_replaying());
        to_json(json!([first, second]))
    })
}

static CLOCKS: OrchestratorRegistration = OrchestratorRegistration {
    name: "Clocks",
    rust_path: "tests::clocks",
    invoke: clocks,
    validate_input: None,
};

#[test]
fn time_guids_and_replay_flag_are_deterministic() {
    let mut live = run(&CLOCKS);
    let first = live.turn(t(10), vec![started(Value::Null)]);
    assert_eq!(first.custom_status, json!({"step": 1}));
    let live_end = live.turn(t(20), vec![completed(0, Value::Null)]);

    let mut history = first.new_events.clone();
    history.push(orchestrator_started(20));
    let mut replayed = run(&CLOCKS);
    replayed.replay(&history);
    let replay_end = replayed.turn(t(20), vec![completed(0, Value::Null)]);

    let (Some(Outcome::Completed(live_out)), Some(Outcome::Completed(replay_out))) =
        (live_end.outcome, replay_end.outcome)
    else {
        panic!("both runs should complete");
    };
    assert_eq!(live_out[0][0], json!(t(10)));
    assert_eq!(live_out[1][0], json!(t(20)));
    assert_eq!(live_out[0][1], replay_out[0][1], "guid differs on replay");
    assert_eq!(live_out[1][1], replay_out[1][1]);
    assert_ne!(live_out[0][1], live_out[1][1]);
    assert_eq!((live_out[0][2].clone(), replay_out[0][2].clone()), (json!(false), json!(true)));
    assert_eq!(replay_out[1][2], json!(false));
}

#[test]
fn terminate_stops_the_run_and_records_the_reason() {
    let mut run = run(&SEQUENCE);
    run.turn(t(0), vec![started(Value::Null)]);
    let turn = run.turn(
        t(1),
        vec![
            HistoryEvent::new(t(1), EventKind::ExecutionTerminated { input: json!("enough") }),
            completed(0, json!("late")),
        ],
    );
    assert_eq!(turn.outcome, Some(Outcome::Terminated(json!("enough"))));
    assert!(turn.activities.is_empty());
    assert_eq!(kinds(&turn), ["OrchestratorStarted", "ExecutionTerminated", "ExecutionCompleted"]);
    assert!(run.is_finished());
}

fn raised(name: &str, data: Value) -> HistoryEvent {
    HistoryEvent::new(t(1), EventKind::EventRaised { name: name.into(), input: data })
}

fn two_approvals(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let step = context.call_activity::<()>("Prepare", ());
        let _ = step.await;
        let first: u32 =
            context.wait_for_external_event("Approval").await.map_err(|e| e.details)?;
        let second: u32 =
            context.wait_for_external_event("Approval").await.map_err(|e| e.details)?;
        to_json([first, second])
    })
}

static TWO_APPROVALS: OrchestratorRegistration = OrchestratorRegistration {
    name: "TwoApprovals",
    rust_path: "tests::two_approvals",
    invoke: two_approvals,
    validate_input: None,
};

#[test]
fn events_raised_before_a_wait_are_kept_in_arrival_order() {
    let mut run = run(&TWO_APPROVALS);
    // Both events arrive while the orchestrator is still busy with its activity.
    run.turn(t(0), vec![started(Value::Null), raised("Approval", json!(1))]);
    run.turn(t(1), vec![raised("Other", json!(9)), raised("Approval", json!(2))]);
    let turn = run.turn(t(2), vec![completed(0, Value::Null)]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!([1, 2]))));

    // Replaying the recorded history gives the same result.
    let mut history = Vec::new();
    let mut live =
        super::engine::OrchestrationRun::new(&TWO_APPROVALS, "instance-1", Limits::default());
    for messages in [
        vec![started(Value::Null), raised("Approval", json!(1))],
        vec![raised("Other", json!(9)), raised("Approval", json!(2))],
    ] {
        history.extend(live.turn(t(0), messages).new_events);
    }
    let mut replayed = run_from(&TWO_APPROVALS, &history);
    let turn = replayed.turn(t(3), vec![completed(0, Value::Null)]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!([1, 2]))));
}

fn run_from(
    registration: &'static OrchestratorRegistration,
    history: &[HistoryEvent],
) -> OrchestrationRun {
    let mut run = run(registration);
    run.replay(history);
    run
}

fn approval_or_escalation(
    context: DurableOrchestrationContext,
) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let approval = context.wait_for_external_event::<String>("Approval");
        let escalation = context.call_activity::<String>("Escalate", ());
        let (winner, output) = when_any([approval, escalation]).await;
        let output = output.map_err(|e| e.details)?;
        // The losing wait was dropped: a later approval goes to this new wait.
        let late: String =
            context.wait_for_external_event("Approval").await.map_err(|e| e.details)?;
        to_json((winner, output, late))
    })
}

static APPROVAL_OR_ESCALATION: OrchestratorRegistration = OrchestratorRegistration {
    name: "ApprovalOrEscalation",
    rust_path: "tests::approval_or_escalation",
    invoke: approval_or_escalation,
    validate_input: None,
};

#[test]
fn a_dropped_wait_is_withdrawn_and_the_next_event_goes_to_a_live_wait() {
    let mut run = run(&APPROVAL_OR_ESCALATION);
    run.turn(t(0), vec![started(Value::Null)]);
    let turn = run.turn(t(1), vec![completed(0, json!("escalated"))]);
    assert_eq!(turn.outcome, None);
    let turn = run.turn(t(2), vec![raised("Approval", json!("yes"))]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!([1, "escalated", "yes"]))));
}

#[test]
fn event_data_of_the_wrong_type_fails_the_wait_clearly() {
    let mut run = run(&TWO_APPROVALS);
    run.turn(t(0), vec![started(Value::Null), raised("Approval", json!("not a number"))]);
    let turn = run.turn(t(1), vec![completed(0, Value::Null)]);
    let failure = failure_of(&turn);
    assert!(
        failure.error_message.contains("the data of event `Approval` does not deserialize"),
        "{}",
        failure.error_message
    );
}

fn timer_or_event(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let deadline = context.current_utc_date_time() + Duration::hours(72);
        let timeout = context.create_timer(deadline);
        let approval = context.wait_for_external_event::<()>("Approval");
        let (winner, _) = when_any([timeout, approval]).await;
        to_json(if winner == 0 { "timed out" } else { "approved" })
    })
}

static TIMER_OR_EVENT: OrchestratorRegistration = OrchestratorRegistration {
    name: "TimerOrEvent",
    rust_path: "tests::timer_or_event",
    invoke: timer_or_event,
    validate_input: None,
};

fn fired(timer_id: i64, fire_at: DateTime<Utc>) -> HistoryEvent {
    HistoryEvent::new(fire_at, EventKind::TimerFired { timer_id, fire_at })
}

#[test]
fn a_timer_is_recorded_fires_by_id_and_can_lose_a_race() {
    let mut run = run(&TIMER_OR_EVENT);
    let first = run.turn(t(0), vec![started(Value::Null)]);
    let deadline = t(0) + Duration::hours(72);
    assert_eq!(first.timers.len(), 1);
    assert_eq!(first.timers[0].fire_at, deadline);
    assert_eq!(
        first.new_events.last().map(|e| (e.event_id, e.kind.clone())),
        Some((0, EventKind::TimerCreated { fire_at: deadline }))
    );
    // The event wins: the instance completes without waiting for the timer.
    let turn = run.turn(t(1), vec![raised("Approval", Value::Null)]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!("approved"))));

    // Replayed, the timer firing wins instead.
    let mut replayed = run_from(&TIMER_OR_EVENT, &first.new_events);
    let turn = replayed.turn(deadline, vec![fired(0, deadline)]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!("timed out"))));
}

#[test]
fn a_timer_where_history_has_a_call_is_nondeterministic() {
    let history = vec![
        orchestrator_started(0),
        started(Value::Null),
        scheduled(0, "SayHello", json!("Tokyo")),
    ];
    let mut run = run_from(&TIMER_OR_EVENT, &history);
    let failure = failure_of(&run.turn(t(1), vec![]));
    assert!(
        failure
            .error_message
            .contains(r#"history recorded call_activity("SayHello") as action #0"#)
            && failure.error_message.contains("create_timer as action #0"),
        "{}",
        failure.error_message
    );
}

fn approval_within_an_hour(
    context: DurableOrchestrationContext,
) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let hour = std::time::Duration::from_secs(3600);
        let strict = context.wait_for_external_event_with_timeout::<bool>("Approval", hour).await;
        let lenient = context
            .wait_for_external_event_or_default("Approval", hour, false)
            .await
            .map_err(|e| e.details)?;
        let strict = match strict {
            Ok(approved) => json!(approved),
            Err(failed) => json!(failed.details.error_type),
        };
        to_json((strict, lenient))
    })
}

static APPROVAL_WITHIN_AN_HOUR: OrchestratorRegistration = OrchestratorRegistration {
    name: "ApprovalWithinAnHour",
    rust_path: "tests::approval_within_an_hour",
    invoke: approval_within_an_hour,
    validate_input: None,
};

#[test]
fn waits_with_a_timeout_fail_or_default_when_the_timer_wins() {
    let hour = Duration::hours(1);
    // No event: the strict wait times out, the lenient one returns its default.
    let mut run = run(&APPROVAL_WITHIN_AN_HOUR);
    run.turn(t(0), vec![started(Value::Null)]);
    run.turn(t(0) + hour, vec![fired(0, t(0) + hour)]);
    let turn = run.turn(t(0) + hour * 2, vec![fired(1, t(0) + hour * 2)]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!(["Timeout", false]))));

    // Events in time: both get the data; the losing timers are cancelled.
    let mut run = run_from(&APPROVAL_WITHIN_AN_HOUR, &[]);
    run.turn(t(0), vec![started(Value::Null)]);
    let turn =
        run.turn(t(1), vec![raised("Approval", json!(true)), raised("Approval", json!(true))]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!([true, true]))));
}

fn retried(context: DurableOrchestrationContext) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let retry = super::RetryOptions::new(std::time::Duration::from_secs(10), 3)
            .with_backoff_coefficient(2.0)
            .with_handle(|failed| failed.details.error_message != "fatal");
        let output = context
            .call_activity_with_retry::<String>("Flaky", retry, ())
            .await
            .map_err(|e| e.details)?;
        to_json(output)
    })
}

static RETRIED: OrchestratorRegistration = OrchestratorRegistration {
    name: "Retried",
    rust_path: "tests::retried",
    invoke: retried,
    validate_input: None,
};

#[test]
fn retries_wait_on_durable_timers_with_backoff() {
    let mut run = run(&RETRIED);
    run.turn(t(0), vec![started(Value::Null)]);
    // Attempt 1 fails: a 10 s timer (action #1).
    let turn = run.turn(t(1), vec![failed(0, "busy")]);
    assert_eq!(turn.timers[0].fire_at, t(1) + Duration::seconds(10));
    // The timer fires: attempt 2 (action #2) fails: a 20 s timer (action #3).
    let turn = run.turn(t(11), vec![fired(1, t(11))]);
    assert_eq!(turn.activities[0].event_id, 2);
    let turn = run.turn(t(12), vec![failed(2, "busy")]);
    assert_eq!(turn.timers[0].fire_at, t(12) + Duration::seconds(20));
    run.turn(t(32), vec![fired(3, t(32))]);
    // Attempt 3 is the last: its failure is the outcome.
    let failure = failure_of(&run.turn(t(33), vec![failed(4, "still busy")]));
    assert_eq!(failure.error_message, "still busy");
}

#[test]
fn retries_stop_when_handle_declines() {
    let mut run = run(&RETRIED);
    run.turn(t(0), vec![started(Value::Null)]);
    let turn = run.turn(t(1), vec![failed(0, "fatal")]);
    assert!(turn.timers.is_empty());
    assert_eq!(failure_of(&turn).error_message, "fatal");
}

fn event(kind: EventKind) -> HistoryEvent {
    HistoryEvent::new(t(1), kind)
}

fn collect_then_continue(
    context: DurableOrchestrationContext,
) -> BoxFuture<'static, FunctionResult> {
    Box::pin(async move {
        let n: u32 =
            context.get_input().map_err(|e| FailureDetails::new("InvalidInput", e.to_string()))?;
        let value: u32 = context.wait_for_external_event("Value").await.map_err(|e| e.details)?;
        context.continue_as_new(n + value, true);
        to_json("ignored")
    })
}

static COLLECT_THEN_CONTINUE: OrchestratorRegistration = OrchestratorRegistration {
    name: "CollectThenContinue",
    rust_path: "tests::collect_then_continue",
    invoke: collect_then_continue,
    validate_input: None,
};

#[test]
fn continue_as_new_records_the_next_input_and_carries_unprocessed_events() {
    let mut run = run(&COLLECT_THEN_CONTINUE);
    run.turn(t(0), vec![started(json!(10)), raised("Other", json!("x"))]);
    let turn = run.turn(
        t(1),
        vec![raised("Value", json!(5)), raised("Value", json!(6)), raised("Late", json!(7))],
    );
    // The function's own return value is ignored; the next execution's input is recorded.
    assert_eq!(
        turn.outcome,
        Some(Outcome::ContinuedAsNew {
            input: json!(15),
            carried: vec![
                raised("Other", json!("x")).kind,
                raised("Value", json!(6)).kind,
                raised("Late", json!(7)).kind,
            ],
        })
    );
    assert!(matches!(
        turn.new_events.last().map(|e| &e.kind),
        Some(EventKind::ExecutionCompleted {
            orchestration_status: OrchestrationRuntimeStatus::ContinuedAsNew,
            result,
            ..
        }) if *result == json!(15)
    ));

    // A client request that arrives with the finishing event goes to the next execution.
    let mut second = super::engine::OrchestrationRun::new(
        &COLLECT_THEN_CONTINUE,
        "instance-2",
        Limits::default(),
    );
    second.turn(t(0), vec![started(json!(1))]);
    let terminate = event(EventKind::ExecutionTerminated { input: json!("stop") });
    let turn = second.turn(t(1), vec![raised("Value", json!(1)), terminate.clone()]);
    assert!(matches!(
        turn.outcome,
        Some(Outcome::ContinuedAsNew { carried, .. }) if carried == vec![terminate.kind]
    ));
}

#[test]
fn a_suspended_run_holds_events_until_resumed_and_replays_the_same_way() {
    let mut live = run(&TWO_APPROVALS);
    let mut history = Vec::new();
    let mut turns = vec![
        vec![started(Value::Null)],
        vec![event(EventKind::ExecutionSuspended { input: json!("pause") })],
        vec![completed(0, Value::Null), raised("Approval", json!(1))],
        vec![raised("Approval", json!(2))],
    ];
    for messages in turns.drain(..) {
        let turn = live.turn(t(2), messages);
        assert_eq!(turn.outcome, None, "nothing moves while suspended");
        history.extend(turn.new_events);
    }
    let turn = live.turn(t(3), vec![event(EventKind::ExecutionResumed { input: json!("go") })]);
    assert!(!turn.suspended);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!([1, 2]))));

    let mut replayed = run_from(&TWO_APPROVALS, &history);
    let turn =
        replayed.turn(t(3), vec![event(EventKind::ExecutionSuspended { input: Value::Null })]);
    assert!(turn.suspended);
    let turn = replayed.turn(t(4), vec![event(EventKind::ExecutionResumed { input: Value::Null })]);
    assert_eq!(turn.outcome, Some(Outcome::Completed(json!([1, 2]))));
}
