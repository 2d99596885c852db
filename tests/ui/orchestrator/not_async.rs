use durable::prelude::*;

#[orchestration_trigger]
fn hello(context: DurableOrchestrationContext) -> String {
    context.instance_id()
}

fn main() {}
