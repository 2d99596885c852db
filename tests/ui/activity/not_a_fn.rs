use durable::prelude::*;

#[activity_trigger]
/// Says hello.
pub struct SayHello {
    name: String,
}

fn main() {}
