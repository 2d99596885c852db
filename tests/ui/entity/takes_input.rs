use durable::prelude::*;

#[entity_trigger]
async fn counter(amount: i64) {
    let _ = amount;
}

fn main() {}
