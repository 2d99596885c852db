//! Timer-triggered functions (`#[timer_trigger(schedule = "…")]`, `[TimerTrigger]` in C#):
//! client functions that run on a six-field NCRONTAB schedule,
//! `{second} {minute} {hour} {day} {month} {day-of-week}`, in UTC.
//!
//! Only the process that runs the task hub's functions runs the schedules, and one
//! invocation of a function at a time: an invocation that overruns skips the occurrences it
//! overlapped.

use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use futures::FutureExt;
use tokio::sync::watch;

use crate::client::DurableOrchestrationClient;
use crate::clock::Clock;
use crate::function::{BoxFuture, panic_message};
use crate::history::FailureDetails;

/// What a timer-triggered function is told about its run (`TimerInfo` in C#).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerInfo {
    /// The occurrences around this run.
    pub schedule_status: ScheduleStatus,
    /// Whether this run started more than a second after its scheduled time (the app was
    /// busy or down).
    pub is_past_due: bool,
}

/// The schedule around a run (`ScheduleStatus` in C#).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleStatus {
    /// The occurrence this run is for.
    pub last: DateTime<Utc>,
    /// The next occurrence.
    pub next: DateTime<Utc>,
    /// When this status was computed.
    pub last_updated: DateTime<Utc>,
}

/// A `#[timer_trigger]` fn, as the macro registers it.
#[derive(Debug)]
pub struct TimerFunctionRegistration {
    /// The function name.
    pub name: &'static str,
    /// The Rust path of the annotated fn, for diagnostics.
    pub rust_path: &'static str,
    /// The NCRONTAB schedule (checked at compile time).
    pub schedule: &'static str,
    /// Whether it also runs once when the app starts (`RunOnStartup`).
    pub run_on_startup: bool,
    /// Runs the function.
    pub invoke:
        fn(TimerInfo, DurableOrchestrationClient) -> BoxFuture<'static, Result<(), FailureDetails>>,
}

inventory::collect!(TimerFunctionRegistration);

/// Every registered timer function.
pub(crate) fn registered() -> impl Iterator<Item = &'static TimerFunctionRegistration> {
    inventory::iter::<TimerFunctionRegistration>.into_iter()
}

/// A schedule that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("the schedule `{schedule}` of timer function `{function}` is invalid: {message}")]
pub struct ScheduleError {
    /// The function.
    pub function: String,
    /// Its schedule.
    pub schedule: String,
    /// What is wrong.
    pub message: String,
}

/// Parses a six-field NCRONTAB expression.
pub fn parse_schedule(schedule: &str) -> Result<Cron, String> {
    let fields = schedule.split_whitespace().count();
    if fields != 6 {
        return Err(format!(
            "expected six fields `{{second}} {{minute}} {{hour}} {{day}} {{month}} \
             {{day-of-week}}`, found {fields}"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(schedule)
        .map_err(|e| e.to_string())
}

/// Starts a task per timer function; they stop when `shutdown` turns true.
pub(crate) fn start(
    functions: impl IntoIterator<Item = &'static TimerFunctionRegistration>,
    client: DurableOrchestrationClient,
    clock: Clock,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, ScheduleError> {
    let mut scheduled = Vec::new();
    for function in functions {
        let cron = parse_schedule(function.schedule).map_err(|message| ScheduleError {
            function: function.name.to_owned(),
            schedule: function.schedule.to_owned(),
            message,
        })?;
        scheduled.push((function, cron));
    }
    Ok(scheduled
        .into_iter()
        .map(|(function, cron)| {
            let run = run_schedule(function, cron, client.clone(), clock.clone(), shutdown.clone());
            tokio::spawn(run)
        })
        .collect())
}

async fn run_schedule(
    function: &'static TimerFunctionRegistration,
    cron: Cron,
    client: DurableOrchestrationClient,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut after = clock.now();
    if function.run_on_startup {
        let Some(next) = next_occurrence(function, &cron, after) else {
            return;
        };
        invoke(function, &client, after, next, &clock).await;
    }
    loop {
        let Some(due) = next_occurrence(function, &cron, after) else {
            return;
        };
        tokio::select! {
            () = clock.sleep_until(due) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let Some(next) = next_occurrence(function, &cron, due) else {
            return;
        };
        invoke(function, &client, due, next, &clock).await;
        // Occurrences that passed while the function ran are skipped, not run in a burst;
        // one falling in the current second still runs.
        after = due.max(clock.now() - chrono::Duration::seconds(1));
    }
}

fn next_occurrence(
    function: &TimerFunctionRegistration,
    cron: &Cron,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match cron.find_next_occurrence(&after, false) {
        Ok(next) => Some(next),
        Err(error) => {
            tracing::error!(function = function.name, %error, "the schedule has no next occurrence; the timer stops");
            None
        }
    }
}

async fn invoke(
    function: &'static TimerFunctionRegistration,
    client: &DurableOrchestrationClient,
    due: DateTime<Utc>,
    next: DateTime<Utc>,
    clock: &Clock,
) {
    let now = clock.now();
    let info = TimerInfo {
        schedule_status: ScheduleStatus { last: due, next, last_updated: now },
        is_past_due: now - due > chrono::Duration::seconds(1),
    };
    tracing::info!(function = function.name, scheduled = %due, "timer function starting");
    match AssertUnwindSafe((function.invoke)(info, client.clone())).catch_unwind().await {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => {
            tracing::error!(function = function.name, error = %failure, "timer function failed");
        }
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            tracing::error!(function = function.name, panic = %message, "timer function panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn six_field_schedules_parse_and_step() {
        let cron = parse_schedule("0 */5 * * * *").unwrap_or_else(|e| panic!("{e}"));
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 10, 2, 30).single().unwrap_or_default();
        let next = cron.find_next_occurrence(&start, false).ok();
        assert_eq!(
            next,
            Utc.with_ymd_and_hms(2026, 1, 1, 10, 5, 0).single(),
            "every five minutes, on the minute"
        );
        let weekdays = parse_schedule("0 30 9 * * 1-5").unwrap_or_else(|e| panic!("{e}"));
        // Friday 2026-01-02 after 9:30: the next weekday run is Monday the 5th.
        let friday = Utc.with_ymd_and_hms(2026, 1, 2, 10, 0, 0).single().unwrap_or_default();
        let next = weekdays.find_next_occurrence(&friday, false).ok();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 1, 5, 9, 30, 0).single());
    }

    #[test]
    fn five_fields_and_nonsense_are_refused() {
        assert!(parse_schedule("*/5 * * * *").is_err());
        assert!(parse_schedule("0 61 * * * *").is_err());
        assert!(parse_schedule("every day").is_err());
    }
}
