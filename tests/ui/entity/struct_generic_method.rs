use durable::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct Bag {
    items: Vec<String>,
}

#[entity_trigger]
impl Bag {
    pub fn put<T: ToString>(&mut self, item: T) {
        self.items.push(item.to_string());
    }
}

fn main() {}
