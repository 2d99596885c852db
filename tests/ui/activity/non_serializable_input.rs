use durable::prelude::*;

struct City {
    name: String,
}

#[activity_trigger]
async fn say_hello(city: City) -> String {
    format!("Hello {}!", city.name)
}

fn main() {}
