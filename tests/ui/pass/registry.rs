//! The registrations the macros submit are discovered, and they run the annotated fns.

use std::fmt;

use durable::prelude::*;
use durable::registry::Registry;
use serde_json::json;

#[activity_trigger(name = "E1_SayHello")]
async fn say_hello(name: String) -> String {
    format!("Hello {name}!")
}

#[derive(Debug)]
struct Empty;

impl fmt::Display for Empty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nothing to shout")
    }
}

#[activity_trigger]
fn shout(text: String) -> Result<String, Empty> {
    if text.is_empty() {
        Err(Empty)
    } else {
        Ok(text.to_uppercase())
    }
}

#[orchestration_trigger(name = "E1_HelloSequence")]
async fn hello_sequence(
    context: DurableOrchestrationContext,
) -> Result<Vec<String>, FunctionFailed> {
    Ok(vec![context.call(SayHello, "Tokyo").await?])
}

#[orchestration_trigger]
async fn typed_input(_context: DurableOrchestrationContext, count: u32) -> u32 {
    count
}

fn main() {
    let registry = Registry::discover().unwrap();
    let say_hello = registry.activity("E1_SayHello").unwrap();
    // The crate is named by the test harness; the path ends with the fn's name.
    assert!(
        say_hello.rust_path.ends_with("::say_hello"),
        "{}",
        say_hello.rust_path
    );
    assert!(registry.activity("shout").is_some());
    assert!(registry.activity("say_hello").is_none());
    let sequence = registry.orchestrator("E1_HelloSequence").unwrap();
    assert!(sequence.validate_input.is_none());
    let typed = registry.orchestrator("typed_input").unwrap();
    let validate = typed.validate_input.unwrap();
    assert!(validate(&json!(3)).is_ok());
    assert!(validate(&json!("three")).is_err());
    assert_eq!(registry.queues().len(), 4);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let context = DurableActivityContext::new("E1_SayHello", "instance", json!("Tokyo"));
        assert_eq!((say_hello.invoke)(context).await, Ok(json!("Hello Tokyo!")));

        let shout = registry.activity("shout").unwrap();
        let context = DurableActivityContext::new("shout", "instance", json!("hi"));
        assert_eq!((shout.invoke)(context).await, Ok(json!("HI")));
        let context = DurableActivityContext::new("shout", "instance", json!(""));
        let failure = (shout.invoke)(context).await.unwrap_err();
        assert_eq!(failure.error_message, "nothing to shout");
        let context = DurableActivityContext::new("shout", "instance", json!(7));
        let failure = (shout.invoke)(context).await.unwrap_err();
        assert_eq!(failure.error_type, "InvalidInput");
    });
}
