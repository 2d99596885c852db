//! A timer-triggered client function: the singleton pattern of "Eternal orchestrations in
//! Durable Functions", where a schedule makes sure the `Periodic_Cleanup_Loop` instance runs.
//!
//! It lives in the app binary, not the samples library, so that the test apps built from the
//! library never see it fire.

use durable::prelude::*;

/// The id of the one cleanup loop.
const CLEANUP_INSTANCE_ID: &str = "periodic-cleanup";

/// Every hour, on the hour: starts the cleanup loop unless it is already running.
#[orchestration_client]
#[timer_trigger(name = "EnsureCleanupLoop", schedule = "0 0 * * * *")]
pub(crate) async fn ensure_cleanup_loop(
    timer: TimerInfo,
    starter: DurableOrchestrationClient,
) -> Result<(), DurableError> {
    let running = starter
        .get_status(CLEANUP_INSTANCE_ID)
        .await?
        .is_some_and(|status| !status.runtime_status.is_terminal());
    if running {
        return Ok(());
    }
    starter.start_new("Periodic_Cleanup_Loop", Some(CLEANUP_INSTANCE_ID), ()).await?;
    tracing::info!(
        past_due = timer.is_past_due,
        "Started the cleanup loop as '{CLEANUP_INSTANCE_ID}'."
    );
    Ok(())
}
