use durable::prelude::*;

#[http_trigger]
fn ping() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

#[timer_trigger(schedule = "0 0 * * * *")]
fn hourly() {}

fn main() {}
