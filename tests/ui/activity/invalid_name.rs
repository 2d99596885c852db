use durable::prelude::*;

#[activity_trigger(name = "1st_SayHello")]
async fn say_hello(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger(name = "say hello")]
async fn say_goodbye(name: String) -> String {
    format!("Goodbye {name}!")
}

#[activity_trigger(name = "")]
async fn say_hi(name: String) -> String {
    format!("Hi {name}!")
}

#[activity_trigger]
async fn _say_nothing() {}

fn main() {}
