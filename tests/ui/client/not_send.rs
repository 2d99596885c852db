use std::rc::Rc;

use durable::prelude::*;

#[http_trigger]
async fn ping() -> HttpResponse {
    let rc = Rc::new(());
    std::future::ready(()).await;
    drop(rc);
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
