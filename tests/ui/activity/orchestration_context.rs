use durable::prelude::*;

#[activity_trigger]
async fn say_hello(context: DurableOrchestrationContext) -> String {
    context.instance_id()
}

fn main() {}
