//! The functions of the tests that run an app as a process of its own (the `test_app`
//! binary), registered in the test processes too so that they can start them by name:
//! - `Slow` sleeps for the milliseconds it is given (none when `SLOW_APP_FAST` is set) and
//!   logs when it starts and finishes; `SlowOrchestration` calls it once (graceful shutdown);
//! - `Crash` aborts the process when its input is true (after a moment, so that work
//!   running alongside finishes), and `CrashOrchestration` calls it, answering how the call
//!   ended (poison quarantine);
//! - `PoisonEvent` waits for the event `poke`, whose data names a file: while the file
//!   exists, handling the event overflows the stack (an orchestrator bug that crashes the
//!   process); `PoisonActivity` calls `CrashWhile`, which aborts the process while the file
//!   its input names exists (poison quarantine of orchestrations and of activities, and
//!   their rewind once "fixed" by deleting the file);
//! - `Tree` starts `depth` levels of two sub-orchestrations each, all of which then wait for
//!   an event that never comes (recursive terminate, suspend and resume);
//! - `HoldAccounts` holds the locks of the samples' `Account` entities until told to go (the
//!   entity crash test); the binary also serves the samples.

use std::path::Path;
use std::time::Duration;

use durable::prelude::*;

#[activity_trigger(name = "Slow")]
pub async fn slow(millis: u64) -> u64 {
    eprintln!("slow activity started");
    if std::env::var_os("SLOW_APP_FAST").is_none() {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
    eprintln!("slow activity finished");
    millis
}

#[orchestration_trigger(name = "SlowOrchestration")]
pub async fn slow_orchestration(
    context: DurableOrchestrationContext,
    millis: u64,
) -> Result<u64, FunctionFailed> {
    context.call(Slow, millis).await
}

#[activity_trigger(name = "Crash")]
pub async fn crash(abort: bool) -> String {
    if abort {
        tokio::time::sleep(Duration::from_millis(500)).await;
        eprintln!("crash activity aborting");
        std::process::abort();
    }
    "ok".to_owned()
}

#[orchestration_trigger(name = "CrashOrchestration")]
pub async fn crash_orchestration(
    context: DurableOrchestrationContext,
    abort: bool,
) -> Result<String, FunctionFailed> {
    match context.call(Crash, abort).await {
        Ok(answer) => Ok(answer),
        Err(failed) if failed.details.error_type == FailureKind::Quarantined => {
            Ok(format!("quarantined: {}", failed.details.error_message))
        }
        Err(failed) => Err(failed),
    }
}

#[orchestration_trigger(name = "PoisonEvent")]
pub async fn poison_event(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
    let marker: String = context.wait_for_external_event("poke").await?;
    if Path::new(&marker).exists() {
        eprintln!("poison orchestration overflowing its stack");
        return Ok(overflow(0).to_string());
    }
    Ok("handled".to_owned())
}

/// Recurses until the stack overflows, which aborts the process.
#[inline(never)]
fn overflow(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 512]);
    if depth == u64::MAX {
        return frame[0];
    }
    overflow(depth + 1).wrapping_add(frame[1])
}

#[activity_trigger(name = "CrashWhile")]
pub async fn crash_while(marker: String) -> String {
    if Path::new(&marker).exists() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        eprintln!("crash-while activity aborting");
        std::process::abort();
    }
    "ran".to_owned()
}

#[orchestration_trigger(name = "PoisonActivity")]
pub async fn poison_activity(
    context: DurableOrchestrationContext,
    marker: String,
) -> Result<String, FunctionFailed> {
    context.call(CrashWhile, marker).await
}

#[orchestration_trigger(name = "Tree")]
pub async fn tree(context: DurableOrchestrationContext, depth: u32) -> Result<(), FunctionFailed> {
    if depth > 0 {
        let id = context.instance_id();
        let children = ["a", "b"].map(|branch| {
            let child = format!("{id}-{branch}");
            context.call_sub_orchestrator::<()>("Tree", Some(child.as_str()), depth - 1)
        });
        // Started, not awaited: the children wait like their parent.
        drop(children);
    }
    context.wait_for_external_event::<()>("never").await
}

/// Locks the samples' `Account` entities named by its input and holds them until the event
/// `go` (the crash test kills the app while they are held).
#[orchestration_trigger(name = "HoldAccounts")]
pub async fn hold_accounts(
    context: DurableOrchestrationContext,
    keys: Vec<String>,
) -> Result<(), FunctionFailed> {
    let accounts =
        keys.into_iter().map(|key| EntityId::new("Account", key)).collect::<Result<Vec<_>, _>>()?;
    let _held = context.lock(&accounts).await?;
    context.wait_for_external_event::<()>("go").await
}
