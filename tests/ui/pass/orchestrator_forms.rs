//! Both orchestrator forms, calling activities through their typed handles.

use durable::prelude::*;

#[activity_trigger(name = "E1_SayHello")]
async fn say_hello(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger]
fn count(words: Vec<String>) -> usize {
    words.len()
}

#[orchestration_trigger(name = "E1_HelloSequence")]
async fn hello_sequence(
    context: DurableOrchestrationContext,
) -> Result<Vec<String>, FunctionFailed> {
    let mut outputs = Vec::new();
    outputs.push(context.call(SayHello, "Tokyo").await?);
    outputs.push(context.call(SayHello, String::from("Seattle")).await?);
    outputs.push(
        context
            .call_activity::<String>("E1_SayHello", "London")
            .await?,
    );
    let n: usize = context.call(Count, outputs.clone()).await?;
    assert_eq!(n, 3);
    Ok(outputs)
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Trip {
    pub cities: Vec<String>,
}

#[orchestration_trigger]
pub async fn greet_trip(ctx: DurableOrchestrationContext, Trip { cities }: Trip) -> Vec<String> {
    let mut greetings = Vec::new();
    for city in cities {
        if let Ok(greeting) = ctx.call(SayHello, city).await {
            greetings.push(greeting);
        }
    }
    greetings
}

#[orchestration_trigger]
async fn nothing(_: DurableOrchestrationContext) {}

fn main() {
    assert_eq!(
        <HelloSequence as OrchestratorHandle>::NAME,
        "E1_HelloSequence"
    );
    assert_eq!(<GreetTrip as OrchestratorHandle>::NAME, "greet_trip");
    assert_eq!(<Nothing as OrchestratorHandle>::NAME, "nothing");
    fn types<H: OrchestratorHandle<Input = I, Output = O>, I, O>(_: H) {}
    types::<_, serde_json::Value, Vec<String>>(HelloSequence);
    types::<_, Trip, Vec<String>>(GreetTrip);
    types::<_, serde_json::Value, ()>(Nothing);
}
