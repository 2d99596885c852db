use durable::prelude::*;

#[orchestration_trigger]
async fn hello(context: DurableOrchestrationContext, name: String, greeting: String) -> String {
    format!("{greeting} {name} from {}", context.instance_id())
}

#[orchestration_trigger]
async fn twice(context: DurableOrchestrationContext, again: DurableOrchestrationContext) -> String {
    context.instance_id() + &again.instance_id()
}

fn main() {}
