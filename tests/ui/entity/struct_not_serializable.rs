use durable::prelude::*;

#[derive(serde::Deserialize, Default)]
pub struct Counter {
    value: i32,
}

#[entity_trigger]
impl Counter {
    pub fn add(&mut self, amount: i32) {
        self.value += amount;
    }
}

fn main() {}
