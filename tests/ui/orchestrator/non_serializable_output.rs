use durable::prelude::*;

struct Greetings(Vec<String>);

#[orchestration_trigger]
async fn hello(context: DurableOrchestrationContext) -> Result<Greetings, FunctionFailed> {
    Ok(Greetings(vec![context.call_activity::<String>("E1_SayHello", "Tokyo").await?]))
}

fn main() {}
