use durable::prelude::*;

#[activity_trigger(name = 42)]
async fn say_hello(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger(name = E1_SayHello)]
async fn say_goodbye(name: String) -> String {
    format!("Goodbye {name}!")
}

fn main() {}
