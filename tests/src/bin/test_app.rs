//! The function app of the tests that need one in a process of its own (see
//! `durable_tests::test_app`).

use durable_tests::test_app::SlowOrchestration;
// The samples' functions too: the entity crash test runs their bank transfers here.
use durable_examples as _;

#[tokio::main]
async fn main() -> Result<(), durable::Error> {
    // Naming the orchestrator links its module, whose functions register themselves.
    let _ = SlowOrchestration;
    durable::FunctionApp::from_env()?.run().await
}
