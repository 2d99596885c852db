use durable::prelude::*;

#[activity_trigger]
async fn say_hello(name: &str) -> String {
    format!("Hello {name}!")
}

#[activity_trigger]
async fn count(words: Vec<&'static str>) -> usize {
    words.len()
}

#[activity_trigger]
async fn show(value: impl std::fmt::Display) -> String {
    value.to_string()
}

#[activity_trigger]
async fn context_by_reference(context: &DurableActivityContext) -> String {
    context.name().to_owned()
}

fn main() {}
