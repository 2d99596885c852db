use durable::prelude::*;

#[timer_trigger(schedule = "0 61 * * * *")]
async fn minute_61() {}

#[timer_trigger(schedule = "0 0 * * * SOMEDAY")]
async fn someday() {}

fn main() {}
