use durable::prelude::*;

struct Greeting(String);

#[activity_trigger]
async fn say_hello(name: String) -> Greeting {
    Greeting(format!("Hello {name}!"))
}

#[activity_trigger]
fn say_goodbye(name: String) -> Result<Greeting, std::io::Error> {
    Ok(Greeting(format!("Goodbye {name}!")))
}

fn main() {}
