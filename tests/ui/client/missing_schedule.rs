use durable::prelude::*;

#[timer_trigger]
async fn whenever() {}

#[orchestration_client]
#[timer_trigger(run_on_startup = "yes")]
async fn at_startup(starter: DurableOrchestrationClient) {
    let _ = starter;
}

fn main() {}
