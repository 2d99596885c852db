use durable::prelude::*;

#[http_trigger(route = "items/{id?}")]
async fn optional(id: u32) -> HttpResponse {
    let _ = id;
    HttpResponse::new(StatusCode::OK)
}

#[http_trigger(route = "items/{id}")]
async fn required(id: Option<u32>) -> HttpResponse {
    let _ = id;
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
