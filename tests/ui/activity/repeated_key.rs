use durable::prelude::*;

#[activity_trigger(name = "E1_SayHello", name = "SayHello")]
async fn say_hello(name: String) -> String {
    format!("Hello {name}!")
}

fn main() {}
