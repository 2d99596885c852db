use durable::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct Counter {
    value: i32,
}

#[entity_trigger]
impl Counter {
    pub fn starting_at(value: i32) -> Counter {
        Counter { value }
    }
}

fn main() {}
