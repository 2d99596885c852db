use durable::prelude::*;

#[http_trigger]
async fn ping(req: HttpRequest) {
    let _ = req;
}

fn main() {}
