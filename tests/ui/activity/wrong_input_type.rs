use durable::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
struct City {
    name: String,
}

#[activity_trigger(name = "E1_SayHello")]
async fn say_hello(city: City) -> String {
    format!("Hello {}!", city.name)
}

#[orchestration_trigger]
async fn hello(context: DurableOrchestrationContext) -> Result<String, FunctionFailed> {
    context.call(SayHello, "Tokyo").await
}

fn main() {}
