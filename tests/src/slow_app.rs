//! A function app with one slow activity, for the graceful shutdown tests (run as the
//! `slow_app` binary): `Slow` sleeps for the milliseconds it is given (none when
//! `SLOW_APP_FAST` is set) and logs when it starts and finishes; `SlowOrchestration` calls it
//! once.

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
