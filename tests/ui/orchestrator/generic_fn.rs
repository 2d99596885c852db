use durable::prelude::*;

#[orchestration_trigger]
async fn echo<T>(context: DurableOrchestrationContext, input: T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send,
{
    let _ = context;
    input
}

fn main() {}
