//! Port of `Periodic_Cleanup_Loop` from "Eternal orchestrations in Durable Functions": do
//! some cleanup, sleep for an hour on a durable timer, then `continue_as_new` so that the
//! history starts afresh each round instead of growing forever.
//!
//! As in C#, the loop never ends by itself: stop it with `terminate`. Each round is a new
//! execution of the same instance, so the instance's history only ever holds the current
//! round.
//!
//! Stand-in: `DoCleanup` has nothing to clean; it logs and counts its runs per instance
//! ([`cleanups_by`]).
//!
//! Run with: `cargo run -p durable-examples -- start Periodic_Cleanup_Loop --no-wait`

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use durable::prelude::*;

/// Cleans up, waits an hour, and starts over as a new execution.
#[orchestration_trigger(name = "Periodic_Cleanup_Loop")]
pub async fn periodic_cleanup_loop(
    context: DurableOrchestrationContext,
) -> Result<(), FunctionFailed> {
    context.call_activity::<()>("DoCleanup", ()).await?;

    // Rest for an hour before the next round.
    let next_cleanup = context.current_utc_date_time() + chrono::Duration::hours(1);
    context.create_timer(next_cleanup).await?;

    context.continue_as_new((), false);
    Ok(())
}

/// Does one round of cleanup on behalf of the calling loop.
#[activity_trigger(name = "DoCleanup")]
pub fn do_cleanup(context: DurableActivityContext) {
    let mut runs = CLEANUPS.lock().unwrap_or_else(PoisonError::into_inner);
    let count = runs.entry(context.instance_id().to_owned()).or_default();
    *count += 1;
    tracing::info!("Cleanup round {count} for {} done.", context.instance_id());
}

/// Cleanup rounds done, per calling instance.
static CLEANUPS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// How many cleanup rounds the loop with this instance id has done in this process.
pub fn cleanups_by(instance_id: &str) -> u64 {
    let runs = CLEANUPS.lock().unwrap_or_else(PoisonError::into_inner);
    runs.get(instance_id).copied().unwrap_or(0)
}
