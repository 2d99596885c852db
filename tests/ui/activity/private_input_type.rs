use durable::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
struct City(String);

// The handle `SayHello` is `pub` like the fn, so the input type must be too.
#[activity_trigger]
pub async fn say_hello(city: City) -> String {
    format!("Hello {}!", city.0)
}

fn main() {}
