use durable::prelude::*;

// The typed handle is the fn's name in CamelCase, so the fn itself must not be CamelCase.
#[activity_trigger]
#[allow(non_snake_case)]
async fn SayHello(name: String) -> String {
    format!("Hello {name}!")
}

fn main() {}
