use durable::prelude::*;

#[timer_trigger(schedule = "*/5 * * * *")]
async fn every_five_minutes() {}

fn main() {}
