//! The slow app of the graceful shutdown tests (see `durable_tests::slow_app`).

use durable_tests::slow_app::SlowOrchestration;

#[tokio::main]
async fn main() -> Result<(), durable::Error> {
    // Naming the orchestrator links its module, whose functions register themselves.
    let _ = SlowOrchestration;
    durable::FunctionApp::from_env()?.run().await
}
