use durable::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct Counter {
    value: i32,
}

pub trait Add {
    fn add(&mut self, amount: i32);
}

#[entity_trigger]
impl Add for Counter {
    fn add(&mut self, amount: i32) {
        self.value += amount;
    }
}

fn main() {}
