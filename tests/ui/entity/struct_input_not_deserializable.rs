use durable::prelude::*;

pub struct Amount(i32);

#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct Counter {
    value: i32,
}

#[entity_trigger]
impl Counter {
    pub fn add(&mut self, amount: Amount) {
        self.value += amount.0;
    }
}

fn main() {}
