use durable::prelude::*;

#[http_trigger]
async fn text() -> Result<String, DurableError> {
    Ok("hello".to_owned())
}

#[http_trigger]
async fn plain() -> String {
    "hello".to_owned()
}

fn main() {}
