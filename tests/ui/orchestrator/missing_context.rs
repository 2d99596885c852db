use durable::prelude::*;

#[orchestration_trigger]
async fn hello() -> String {
    String::new()
}

#[orchestration_trigger]
async fn greet(name: String) -> String {
    name
}

#[orchestration_trigger]
async fn swapped(name: String, context: DurableOrchestrationContext) -> String {
    context.instance_id() + &name
}

#[orchestration_trigger]
async fn activity_context(context: DurableActivityContext) -> String {
    context.instance_id().to_owned()
}

fn main() {}
