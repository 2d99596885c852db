use durable::prelude::*;

#[orchestration_client]
async fn start(starter: DurableOrchestrationClient) {
    let _ = starter;
}

fn main() {}
