use durable::prelude::*;

#[http_trigger(auth_level = "public")]
async fn public() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

#[http_trigger(auth_level = Anonymous)]
async fn not_a_string() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
