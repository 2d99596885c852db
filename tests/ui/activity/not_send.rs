use std::rc::Rc;

use durable::prelude::*;

async fn pause() {}

#[activity_trigger]
async fn say_hello(name: String) -> String {
    let name = Rc::new(name);
    pause().await;
    format!("Hello {name}!")
}

fn main() {}
