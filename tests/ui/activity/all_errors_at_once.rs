use durable::prelude::*;

#[activity_trigger(nmae = "E1_SayHello", name = "E1 SayHello")]
async fn say_hello<'a>(name: &'a str, greeting: String) -> String {
    format!("{greeting} {name}!")
}

fn main() {}
