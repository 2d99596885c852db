use durable::prelude::*;

#[http_trigger(methods = ["POST", "GET", "post"])]
async fn twice() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
