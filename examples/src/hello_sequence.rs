//! Port of `HelloSequence.cs`: function chaining, three activity calls in sequence.
//!
//! Run with: `cargo run -p durable-examples -- start E1_HelloSequence`
//! (prints `["Hello Tokyo!", "Hello Seattle!", "Hello London!"]`).

use durable::prelude::*;

/// Calls `E1_SayHello` for three cities in turn and returns the greetings.
#[orchestration_trigger(name = "E1_HelloSequence")]
pub async fn hello_sequence(
    context: DurableOrchestrationContext,
) -> Result<Vec<String>, FunctionFailed> {
    let mut outputs = Vec::new();

    outputs.push(context.call_activity::<String>("E1_SayHello", "Tokyo").await?);
    outputs.push(context.call_activity::<String>("E1_SayHello", "Seattle").await?);
    outputs.push(context.call_activity::<String>("E1_SayHello", "London").await?);

    // returns ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    Ok(outputs)
}

/// Greets a city; reads its input through the activity context.
#[activity_trigger(name = "E1_SayHello")]
pub fn say_hello(context: DurableActivityContext) -> Result<String, InputError> {
    let name: String = context.get_input()?;
    Ok(format!("Hello {name}!"))
}

/// Greets a city given directly as the input.
#[activity_trigger(name = "E1_SayHello_DirectInput")]
pub fn say_hello_direct_input(name: String) -> String {
    format!("Hello {name}!")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activities_are_plain_functions() {
        assert_eq!(say_hello_direct_input("Tokyo".into()), "Hello Tokyo!");
        let context = DurableActivityContext::new("E1_SayHello", "test", "Seattle".into());
        assert_eq!(say_hello(context).ok(), Some("Hello Seattle!".to_owned()));
    }
}
