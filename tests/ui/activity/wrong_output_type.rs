use durable::prelude::*;

#[activity_trigger(name = "E1_SayHello")]
async fn say_hello(name: String) -> String {
    format!("Hello {name}!")
}

#[orchestration_trigger]
async fn hello(context: DurableOrchestrationContext) -> Result<u32, FunctionFailed> {
    let x: u32 = context.call(SayHello, "Tokyo").await?;
    Ok(x)
}

fn main() {}
