use durable::prelude::*;

#[http_trigger(methods = ["GET", "FETCH"])]
async fn fetch() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

#[http_trigger(methods = "POST")]
async fn not_an_array() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

#[http_trigger(methods = [POST])]
async fn not_a_string() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
