use durable::prelude::*;

#[derive(Debug)]
struct TooLong;

#[activity_trigger]
async fn say_hello(name: String) -> Result<String, TooLong> {
    if name.len() > 10 { Err(TooLong) } else { Ok(format!("Hello {name}!")) }
}

fn main() {}
