use durable::prelude::*;

#[derive(Debug)]
enum Failure {
    Activity(FunctionFailed),
}

#[orchestration_trigger]
async fn hello(context: DurableOrchestrationContext) -> Result<String, Failure> {
    context
        .call_activity::<String>("E1_SayHello", "Tokyo")
        .await
        .map_err(Failure::Activity)
}

fn main() {}
