use durable::prelude::*;

#[activity_trigger(max_concurrency = 0)]
async fn zero(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger(max_concurrency = 2.5)]
async fn fraction(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger(max_concurrency = "4")]
async fn string(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger(name = "Negative", max_concurrency = -1)]
async fn negative(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger(max_concurrency = 99999999999999999999999)]
async fn too_big(name: String) -> String {
    format!("Hello {name}!")
}

fn main() {}
