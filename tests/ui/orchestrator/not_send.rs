use std::cell::RefCell;
use std::rc::Rc;

use durable::prelude::*;

#[orchestration_trigger]
async fn hello(context: DurableOrchestrationContext) -> Result<Vec<String>, FunctionFailed> {
    let outputs = Rc::new(RefCell::new(Vec::new()));
    let greeting = context.call_activity::<String>("E1_SayHello", "Tokyo").await?;
    outputs.borrow_mut().push(greeting);
    Ok(outputs.take())
}

fn main() {}
