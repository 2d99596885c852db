use durable::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct Counter {
    value: i32,
}

#[entity_trigger]
impl Counter {
    pub fn into_value(self) -> i32 {
        self.value
    }
}

fn main() {}
