use durable::prelude::*;

#[activity_trigger]
fn greeting() -> &'static str {
    "Hello!"
}

#[activity_trigger]
fn greetings() -> Result<impl serde::Serialize, String> {
    Ok(vec!["Hello!"])
}

fn main() {}
