//! The sample function app: every sample of this crate, served on the embedded SQLite store.
//!
//! Run with: `cargo run -p durable-examples -- start E1_HelloSequence` (or `serve`, `--help`).

// Linking the samples library is what registers its functions.
use durable_examples as _;

mod scheduled;

#[tokio::main]
async fn main() -> Result<(), durable::Error> {
    durable::FunctionApp::from_env()?.run().await
}
