use durable::prelude::*;

#[activity_trigger(nmae = "E1_SayHello")]
async fn say_hello(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger(name)]
async fn say_goodbye(name: String) -> String {
    format!("Goodbye {name}!")
}

#[activity_trigger("E1_SayHi")]
async fn say_hi(name: String) -> String {
    format!("Hi {name}!")
}

fn main() {}
