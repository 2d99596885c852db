use durable::prelude::*;

#[orchestration_trigger]
async fn hello(context: &DurableOrchestrationContext) -> String {
    context.instance_id()
}

fn main() {}
