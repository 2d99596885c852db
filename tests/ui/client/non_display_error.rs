use durable::prelude::*;

#[derive(Debug)]
struct Opaque;

#[http_trigger]
async fn http() -> Result<HttpResponse, Opaque> {
    Err(Opaque)
}

#[timer_trigger(schedule = "0 0 * * * *")]
async fn timer() -> Result<(), Opaque> {
    Err(Opaque)
}

fn main() {}
