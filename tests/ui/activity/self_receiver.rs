use durable::prelude::*;

struct Greeter;

impl Greeter {
    #[activity_trigger]
    async fn say_hello(&self, name: String) -> String {
        format!("Hello {name}!")
    }
}

fn main() {}
