use durable::prelude::*;

// Per-function limits are for activities only.
#[orchestration_trigger(max_concurrency = 2)]
async fn hello(context: DurableOrchestrationContext) -> String {
    let _ = context;
    String::new()
}

fn main() {}
